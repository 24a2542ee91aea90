//! `commit`: a new image made of the container's image and one more layer holding the
//! container's changes, as moby's `CreateImageFromContainer` makes it.
//!
//! The layer is the container's overlay upper directory, packed with whiteouts turned into
//! `.wh.` names (the directory is walked through fds and never followed, see
//! [`super::fsops`]). The image config is the container's own `Config` with the `--change`
//! instructions applied (moby applies them to the container's config and then fills what
//! they left unset from it again); the history gets one entry whose `created_by` is the
//! container's command joined with spaces, as moby's `NewChildImage` writes it. A commit
//! without changes adds an empty-layer history entry and no layer.

use std::io::Write;

use berth_image::change::apply_changes;
use berth_image::reference::Reference;
use berth_image::spec::{mediatype, ContainerConfig, History, ImageConfig};
use berth_store::NewImage;
use berth_types::Digest;

use super::fsops::{self, FsError};
use crate::images::unpack::{commit_with_layers, LayerSource};
use crate::{Engine, EngineError};

/// The digest of an empty tar (two zero blocks): moby's `layer.EmptyLayer` diff id.
const EMPTY_TAR: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// Options of `commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `REPOSITORY[:TAG]` to give the image.
    pub reference: Option<String>,
    /// `-m`: the history comment.
    pub comment: Option<String>,
    /// `-a`: the author.
    pub author: Option<String>,
    /// `-c`: Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// `-p`: freeze a running container while its changes are packed.
    pub pause: bool,
}

fn fs_err(e: FsError) -> EngineError {
    match e {
        FsError::Engine(e) => e,
        FsError::Tar(e) => EngineError::Tar(e),
        FsError::Io { op, path, source } => EngineError::Io {
            path: path.into(),
            source: std::io::Error::new(source.kind(), format!("{op}: {source}")),
        },
        other => EngineError::InvalidArgument(other.to_string()),
    }
}

impl Engine {
    /// Commits the container `name` as a new image and returns the image id.
    pub fn commit_container(
        &mut self,
        name: &str,
        opts: &CommitOptions,
    ) -> Result<Digest, EngineError> {
        let tag = opts
            .reference
            .as_deref()
            .map(|r| {
                let r = Reference::parse_normalized(r)?;
                if r.digest().is_some() {
                    return Err(EngineError::InvalidArgument(
                        "refusing to create a tag with a digest reference".into(),
                    ));
                }
                Ok(r.with_default_tag())
            })
            .transpose()?;
        let c = self.container(name)?;
        match c.row.state.as_str() {
            "removing" => {
                return Err(EngineError::Conflict(format!(
                    "You cannot commit container {} which is being removed",
                    c.row.id
                )))
            }
            "dead" => {
                return Err(EngineError::Conflict(format!(
                    "You cannot commit container {} which is Dead",
                    c.row.id
                )))
            }
            _ => {}
        }
        let container_config: ContainerConfig = serde_json::to_value(&c.doc.config)
            .and_then(serde_json::from_value)
            .map_err(|e| EngineError::InvalidArgument(format!("container config: {e}")))?;
        let mut config = container_config.clone();
        apply_changes(&mut config, &opts.changes)?;
        merge(&mut config, &container_config);

        let base_id: Digest = c
            .row
            .image_id
            .parse()
            .map_err(|_| EngineError::NoSuchImage(c.row.image_id.clone()))?;
        let base = self
            .store
            .image(&base_id)?
            .ok_or_else(|| EngineError::NoSuchImage(c.row.image_id.clone()))?;
        let base_cfg = self.image_config(&base_id)?;
        let mut sources = Vec::new();
        for chain in &base.layers {
            let l = self
                .store
                .layer(chain)?
                .ok_or_else(|| berth_store::StoreError::LayerVanished(chain.clone()))?;
            sources.push(LayerSource {
                blob: l.blob,
                media_type: l.media_type,
                diff_id: l.diff_id,
                parent: l.parent,
                chain_id: l.chain_id,
            });
        }

        self.repair()?;
        let paths = self.container_paths(&c.row.id);
        let lowers = self.image_layer_dirs(&c.row.image_id)?;
        let paused = opts.pause && c.row.state == "running" && {
            self.pause_container(&c.row.id)?;
            true
        };
        let packed = (|| {
            let ingest = self.store.blobs().ingest()?;
            let mut ingest = if paths.upper.exists() {
                fsops::pack_upper(&paths.upper, &lowers, ingest).map_err(fs_err)?
            } else {
                let mut i = ingest;
                i.write_all(&[0u8; 1024])
                    .map_err(crate::error::io_err(&paths.upper))?;
                i
            };
            ingest.flush().map_err(|source| EngineError::Stream {
                what: "write layer",
                source,
            })?;
            Ok::<_, EngineError>(ingest)
        })();
        if paused {
            if let Err(e) = self.unpause_container(&c.row.id) {
                tracing::warn!(container = %c.row.id, error = %e, "unpause after commit");
            }
        }
        let ingest = packed?;
        let empty = ingest.digest().to_string() == EMPTY_TAR;

        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut diff_ids = base_cfg.rootfs.diff_ids.clone();
        if !empty {
            let diff_id = ingest.commit(None, None)?;
            let chain = Digest::chain(sources.last().map(|s| &s.chain_id), &diff_id);
            sources.push(LayerSource {
                blob: diff_id.clone(),
                media_type: mediatype::OCI_LAYER.to_string(),
                diff_id: diff_id.clone(),
                parent: sources.last().map(|s| s.chain_id.clone()),
                chain_id: chain,
            });
            diff_ids.push(diff_id);
        }
        let author = opts.author.clone().filter(|a| !a.is_empty());
        let mut history = base_cfg.history.clone();
        history.push(History {
            created: Some(now.clone()),
            author: author.clone(),
            created_by: Some(c.doc.config.cmd.clone().unwrap_or_default().join(" ")),
            comment: opts.comment.clone().filter(|m| !m.is_empty()),
            empty_layer: empty,
        });
        let labels = config.labels.clone().unwrap_or_default();
        let image = ImageConfig {
            architecture: base_cfg.architecture.clone(),
            os: if base_cfg.os.is_empty() {
                "linux".into()
            } else {
                base_cfg.os.clone()
            },
            variant: base_cfg.variant.clone(),
            os_version: base_cfg.os_version.clone(),
            os_features: base_cfg.os_features.clone(),
            created: Some(now.clone()),
            author,
            config: Some(config),
            rootfs: berth_image::spec::RootFs::layers(diff_ids),
            history,
            container: Some(c.row.id.clone()),
            container_config: Some(container_config),
            ..Default::default()
        };
        let bytes = serde_json::to_vec(&image)
            .map_err(|e| EngineError::InvalidArgument(format!("image config: {e}")))?;
        let id = self.store.blobs().put(&bytes)?;
        let new = NewImage {
            id: id.clone(),
            created: Some(now),
            labels: labels.into_iter().collect(),
            parent: Some(base_id),
            layers: Vec::new(),
            tags: tag.iter().map(|t| t.to_string()).collect(),
            digests: Vec::new(),
        };
        commit_with_layers(&mut self.store, new, &sources)?;
        let image_ref = tag
            .as_ref()
            .map(|t| t.familiar_string())
            .unwrap_or_default();
        let attrs = [
            ("comment", opts.comment.clone().unwrap_or_default()),
            ("imageID", id.to_string()),
            ("imageRef", image_ref),
        ];
        self.emit_container(&c, "commit", &attrs);
        Ok(id)
    }
}

/// moby's `merge(userConf, imageConf)`: fills what the changes left unset from the
/// container's config (after `apply_changes` on a copy of that config, this only restores
/// what an instruction cleared, like `Cmd` after `ENTRYPOINT`, when moby would).
fn merge(user: &mut ContainerConfig, image: &ContainerConfig) {
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    for (p, v) in &image.exposed_ports {
        user.exposed_ports.entry(p.clone()).or_insert(*v);
    }
    for e in &image.env {
        let key = e.split('=').next().unwrap_or("");
        if !user.env.iter().any(|u| u.split('=').next() == Some(key)) {
            user.env.push(e.clone());
        }
    }
    if let Some(il) = &image.labels {
        let ul = user.labels.get_or_insert_with(Default::default);
        for (k, v) in il {
            ul.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if user.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            user.cmd = image.cmd.clone();
        }
        if user.entrypoint.is_none() {
            user.entrypoint = image.entrypoint.clone();
        }
    }
    if user.healthcheck.is_none() {
        user.healthcheck = image.healthcheck.clone();
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    for (k, v) in &image.volumes {
        user.volumes.insert(k.clone(), *v);
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
}
