//! `import`: makes a one-layer image from a root filesystem tarball or directory.

use std::io::{self, Read, Write};
use std::path::Path;

use berth_image::change::apply_change;
use berth_image::reference::Reference;
use berth_image::spec::{mediatype, ContainerConfig, Platform};
use berth_store::NewImage;
use berth_types::Digest;
use serde_json::json;

use super::unpack::{commit_with_layers, LayerSource};
use crate::{Engine, EngineError};

/// Where `import` reads the root filesystem from.
pub enum ImportSource {
    /// A tarball (plain, gzip or zstd) read from a stream (a file or stdin).
    Tar(Box<dyn Read + Send>),
    /// A directory, packed as it is.
    Dir(std::path::PathBuf),
}

/// Options of `import`.
#[derive(Default)]
pub struct ImportOptions {
    /// The repository and tag to give the image.
    pub reference: Option<String>,
    /// The history comment (`-m`).
    pub message: Option<String>,
    /// Dockerfile-style changes (`-c`).
    pub changes: Vec<String>,
    /// What the source was, for the default comment.
    pub source_name: String,
    /// `--platform`, `os/arch[/variant]`.
    pub platform: Option<String>,
}

impl Engine {
    /// Imports a root filesystem as a new image and returns its id.
    pub fn import_image(
        &mut self,
        source: ImportSource,
        opts: ImportOptions,
    ) -> Result<Digest, EngineError> {
        let tag = opts
            .reference
            .as_deref()
            .map(|r| {
                let r = Reference::parse_normalized(r)?;
                if r.digest().is_some() {
                    return Err(EngineError::InvalidArgument(
                        "import reference may not carry a digest".into(),
                    ));
                }
                Ok(r.with_default_tag())
            })
            .transpose()?;
        let mut cfg = ContainerConfig::default();
        for c in &opts.changes {
            apply_change(&mut cfg, c)?;
        }
        self.repair()?;
        let mut ingest = self.store.blobs().ingest()?;
        match source {
            ImportSource::Tar(r) => {
                let (_, mut r) = berth_tar::decompress(r)?;
                io::copy(&mut r, &mut ingest).map_err(|source| EngineError::Stream {
                    what: "read import source",
                    source,
                })?;
            }
            ImportSource::Dir(dir) => {
                check_dir(&dir)?;
                berth_tar::pack_dir(&dir, &mut ingest, berth_tar::PackMode::Plain)?;
                ingest.flush().map_err(|source| EngineError::Stream {
                    what: "write layer",
                    source,
                })?;
            }
        }
        if ingest.written() == 0 {
            return Err(EngineError::InvalidArgument(
                "import source is empty: expected a tar archive".into(),
            ));
        }
        let diff_id = ingest.commit(None, None)?;
        let (os, arch, variant) = platform(opts.platform.as_deref())?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let comment = opts
            .message
            .clone()
            .unwrap_or_else(|| format!("Imported from {}", opts.source_name));
        let mut config = json!({
            "architecture": arch,
            "config": cfg,
            "created": now,
            "history": [{"created": now, "created_by": "", "comment": comment}],
            "os": os,
            "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        });
        if let Some(v) = variant {
            config["variant"] = json!(v);
        }
        let config_bytes = serde_json::to_vec(&config).expect("json");
        let id = self.store.blobs().put(&config_bytes)?;
        let sources = [LayerSource {
            blob: diff_id.clone(),
            media_type: mediatype::OCI_LAYER.to_string(),
            diff_id: diff_id.clone(),
            parent: None,
            chain_id: diff_id,
        }];
        let new = NewImage {
            id: id.clone(),
            created: Some(now),
            labels: cfg.labels.clone().unwrap_or_default().into_iter().collect(),
            parent: None,
            layers: Vec::new(),
            tags: tag.iter().map(|t| t.to_string()).collect(),
            digests: Vec::new(),
        };
        commit_with_layers(&mut self.store, new, &sources)?;
        let name = tag
            .as_ref()
            .map(|t| t.familiar_string())
            .unwrap_or_default();
        self.emit_image("import", &id.to_string(), &name);
        Ok(id)
    }
}

fn check_dir(dir: &Path) -> Result<(), EngineError> {
    let meta = std::fs::metadata(dir).map_err(crate::error::io_err(dir))?;
    if !meta.is_dir() {
        return Err(EngineError::InvalidArgument(format!(
            "{}: not a directory",
            dir.display()
        )));
    }
    Ok(())
}

fn platform(p: Option<&str>) -> Result<(String, String, Option<String>), EngineError> {
    let host = Platform::host();
    match p {
        None => Ok((host.os, host.architecture, host.variant)),
        Some(s) => {
            let parts: Vec<&str> = s.split('/').collect();
            match parts.as_slice() {
                [os, arch] => Ok((os.to_string(), arch.to_string(), None)),
                [os, arch, v] => Ok((os.to_string(), arch.to_string(), Some(v.to_string()))),
                _ => Err(EngineError::InvalidArgument(format!(
                    "invalid platform {s:?}: expected os/arch[/variant]"
                ))),
            }
        }
    }
}
