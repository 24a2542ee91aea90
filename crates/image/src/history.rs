//! Pairing an image's `history` with its layers, for `berth history` and
//! `image inspect`.

use crate::spec::{History, ImageConfig};

/// The history entries of `cfg`, oldest first, each with the index (into
/// `rootfs.diff_ids`) of the layer it made, or `None` for an `empty_layer` step.
///
/// Images in the wild do not always agree with themselves, so mismatches are
/// tolerated: a config without history gets one blank entry per layer (as Docker
/// shows imported images); non-empty entries beyond the last layer get `None`; layers
/// left over after the last non-empty entry get blank entries of their own, so every
/// layer is listed.
pub fn history_with_layers(cfg: &ImageConfig) -> Vec<(History, Option<usize>)> {
    let layers = cfg.rootfs.diff_ids.len();
    let mut out = Vec::with_capacity(cfg.history.len().max(layers));
    let mut next = 0usize;
    for h in &cfg.history {
        let idx = if h.empty_layer || next >= layers {
            None
        } else {
            next += 1;
            Some(next - 1)
        };
        out.push((h.clone(), idx));
    }
    out.extend((next..layers).map(|i| (History::default(), Some(i))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::RootFs;
    use berth_types::Digest;

    fn cfg(history: Vec<History>, layers: usize) -> ImageConfig {
        ImageConfig {
            history,
            rootfs: RootFs::layers((0..layers).map(|i| Digest::of(&[i as u8])).collect()),
            ..Default::default()
        }
    }

    fn step(by: &str, empty: bool) -> History {
        History {
            created_by: Some(by.into()),
            empty_layer: empty,
            ..Default::default()
        }
    }

    fn indexes(c: &ImageConfig) -> Vec<Option<usize>> {
        history_with_layers(c).into_iter().map(|(_, i)| i).collect()
    }

    #[test]
    fn maps_non_empty_steps_to_layers_in_order() {
        let c = cfg(
            vec![
                step("ADD", false),
                step("CMD", true),
                step("RUN", false),
                step("ENV", true),
            ],
            2,
        );
        let got = history_with_layers(&c);
        assert_eq!(got[2].0.created_by.as_deref(), Some("RUN"));
        assert_eq!(indexes(&c), [Some(0), None, Some(1), None]);
    }

    #[test]
    fn no_history_gives_one_blank_entry_per_layer() {
        let c = cfg(vec![], 3);
        let got = history_with_layers(&c);
        assert_eq!(indexes(&c), [Some(0), Some(1), Some(2)]);
        assert!(got.iter().all(|(h, _)| *h == History::default()));
    }

    #[test]
    fn tolerates_mismatched_counts() {
        // More non-empty steps than layers.
        let c = cfg(
            vec![step("A", false), step("B", false), step("C", false)],
            1,
        );
        assert_eq!(indexes(&c), [Some(0), None, None]);
        // More layers than non-empty steps.
        let c = cfg(vec![step("A", false), step("B", true)], 3);
        assert_eq!(indexes(&c), [Some(0), None, Some(1), Some(2)]);
        // Nothing at all.
        assert!(history_with_layers(&cfg(vec![], 0)).is_empty());
    }
}
