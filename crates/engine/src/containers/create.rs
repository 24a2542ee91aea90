//! `create`: a new container row and directory from an image and Docker's create request,
//! with the image's defaults merged in as the Docker daemon merges them.

use std::collections::BTreeMap;

use berth_image::spec::ContainerConfig as ImageDefaults;
use berth_store::{containers as rows, ContainerRow};
use rand::Rng;

use super::config::{Config, ContainerDoc, CreateRequest};
use super::names;
use crate::{Engine, EngineError};

/// Docker's default `PATH` for containers whose image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Engine {
    /// Creates a container; returns its id. Nothing is left behind on failure.
    pub fn create_container(&mut self, req: CreateRequest) -> Result<String, EngineError> {
        let image_id = self.resolve_image(&req.config.image)?;
        let image = self.image_config(&image_id)?;
        let mut config = req.config;
        merge_image_defaults(&mut config, image.config.as_ref());
        let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        argv.extend(config.cmd.clone().unwrap_or_default());
        if argv.is_empty() || (argv.len() == 1 && argv[0].is_empty() && config.cmd.is_none()) {
            return Err(EngineError::InvalidArgument("No command specified".into()));
        }
        if argv[0].is_empty() {
            argv.remove(0);
            if argv.is_empty() {
                return Err(EngineError::InvalidArgument("No command specified".into()));
            }
        }
        let mut host_config = req.host_config;
        if host_config.network_mode.is_empty() {
            host_config.network_mode = "default".into();
        }
        if host_config.memory > 0 && host_config.memory_swap == 0 {
            // Docker's default: as much swap as memory.
            host_config.memory_swap = host_config.memory * 2;
        }
        if host_config.restart_policy.name.is_empty() {
            host_config.restart_policy.name = "no".into();
        }
        if host_config.auto_remove && !matches!(host_config.restart_policy.name.as_str(), "no" | "")
        {
            return Err(EngineError::InvalidArgument(
                "can't create 'AutoRemove' container with restart policy".into(),
            ));
        }
        match host_config.runtime.as_str() {
            "" | "berth" | "io.containerd.runc.v2" => host_config.runtime = "berth".into(),
            name @ ("runc" | "crun") => {
                if berth_runtime::oci::find_runtime(name).is_none() {
                    return Err(EngineError::InvalidArgument(format!(
                        "unknown or invalid runtime name: {name}"
                    )));
                }
            }
            other => {
                return Err(EngineError::InvalidArgument(format!(
                    "unknown or invalid runtime name: {other}"
                )))
            }
        }
        let planned = self.plan_attachments(&host_config.network_mode, &req.endpoints)?;
        let id = new_id();
        if config.hostname.is_empty() {
            config.hostname = if host_config.network_mode == "host" {
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned()
            } else {
                id[..12].to_string()
            };
        }
        // Volumes and binds (validated before anything is made).
        let plan =
            crate::volumes::mounts::plan(&config, &host_config, |n| self.mount_points_of(n))?;
        let doc = ContainerDoc {
            path: argv[0].clone(),
            args: argv[1..].to_vec(),
            config,
            host_config,
            platform: "linux".into(),
            mount_points: plan.points.clone(),
        };
        let json =
            serde_json::to_string(&doc).map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        let anonymous = self.prepare_volumes(&plan)?;
        let paths = self.container_paths(&id);
        if let Err(e) = std::fs::create_dir_all(&paths.dir) {
            for v in &anonymous {
                self.remove_volume_dir(v);
            }
            return Err(crate::error::io_err(&paths.dir)(e));
        }
        let mut row = ContainerRow {
            id: id.clone(),
            name: String::new(),
            image_id: image_id.to_string(),
            state: "created".into(),
            created: berth_store::now_nanos(),
            config: json,
            ..Default::default()
        };
        let mut result = self.insert_named(&mut row, req.name.as_deref(), &plan);
        if result.is_ok() {
            result = self.store_attachments(&id, &planned);
            if result.is_err() {
                let _ = self.store.db_mut().write(|tx| rows::delete(tx, &id));
            }
        }
        if result.is_ok() {
            for v in &anonymous {
                self.emit_volume("create", v, &[]);
            }
        }
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&paths.dir);
            for v in &anonymous {
                self.remove_volume_dir(v);
            }
        }
        result?;
        let attrs =
            crate::events::container_attributes(&row.name, &doc.config.image, &doc.config.labels);
        self.emit("container", "create", &id, attrs);
        Ok(id)
    }

    fn insert_named(
        &mut self,
        row: &mut ContainerRow,
        name: Option<&str>,
        plan: &crate::volumes::mounts::MountPlan,
    ) -> Result<(), EngineError> {
        let given = match name {
            Some(n) if !n.is_empty() => {
                Some(names::validate(n).map_err(EngineError::InvalidArgument)?)
            }
            _ => None,
        };
        for attempt in 0..10 {
            row.name = given.clone().unwrap_or_else(|| names::random(attempt));
            let r = row.clone();
            let inserted = self.store.db_mut().write(|tx| {
                if rows::by_name(tx, &r.name)?.is_some() {
                    return Ok(false);
                }
                rows::insert(tx, &r)?;
                plan.record(tx, &r.id)?;
                Ok(true)
            })?;
            if inserted {
                return Ok(());
            }
            if let Some(n) = &given {
                let other = rows::by_name(self.store.db().conn(), n)
                    .map_err(|e| self.store.db().err(e))?
                    .map(|r| r.id)
                    .unwrap_or_default();
                return Err(EngineError::Conflict(format!(
                    "Conflict. The container name \"/{n}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
        }
        Err(EngineError::Conflict(
            "could not find a free container name".into(),
        ))
    }
}

fn new_id() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Docker's merge of the image's config into the container's (moby `daemon.merge`).
pub fn merge_image_defaults(c: &mut Config, img: Option<&ImageDefaults>) {
    let Some(img) = img else {
        ensure_path(&mut c.env);
        return;
    };
    if c.user.is_empty() {
        c.user = img.user.clone();
    }
    if !img.exposed_ports.is_empty() {
        let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
        for k in img.exposed_ports.keys() {
            ports.entry(k.clone()).or_default();
        }
    }
    // Image env first; the container's entries override the same keys.
    let mut env: Vec<String> = Vec::new();
    for e in img.env.iter().chain(c.env.iter()) {
        let key = e.split('=').next().unwrap_or(e);
        let pos = env.iter().position(|x| x.split('=').next() == Some(key));
        match (pos, e.contains('=')) {
            (Some(p), true) => env[p] = e.clone(),
            (Some(p), false) => {
                env.remove(p);
            }
            (None, true) => env.push(e.clone()),
            (None, false) => {}
        }
    }
    c.env = env;
    ensure_path(&mut c.env);
    let labels = img.labels.clone().unwrap_or_default();
    for (k, v) in labels {
        c.labels.entry(k).or_insert(v);
    }
    if c.entrypoint.is_none() {
        c.entrypoint = img.entrypoint.clone();
        if c.cmd.is_none() {
            c.cmd = img.cmd.clone();
        }
    }
    if c.working_dir.is_empty() {
        c.working_dir = img.working_dir.clone();
    }
    if !img.volumes.is_empty() {
        let v = c.volumes.get_or_insert_with(BTreeMap::new);
        for k in img.volumes.keys() {
            v.entry(k.clone()).or_default();
        }
    }
    if c.stop_signal.is_none() && !img.stop_signal.is_empty() {
        c.stop_signal = Some(img.stop_signal.clone());
    }
    match (&mut c.healthcheck, &img.healthcheck) {
        (None, Some(h)) => c.healthcheck = Some(h.clone()),
        (Some(mine), Some(h)) => {
            if mine.test.is_empty() {
                mine.test = h.test.clone();
            }
            if mine.interval == 0 {
                mine.interval = h.interval;
            }
            if mine.timeout == 0 {
                mine.timeout = h.timeout;
            }
            if mine.start_period == 0 {
                mine.start_period = h.start_period;
            }
            if mine.retries == 0 {
                mine.retries = h.retries;
            }
        }
        _ => {}
    }
    if c.on_build.is_none() && !img.on_build.is_empty() {
        c.on_build = Some(img.on_build.clone());
    }
}

fn ensure_path(env: &mut Vec<String>) {
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, format!("PATH={DEFAULT_PATH}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_like_docker() {
        let img = ImageDefaults {
            env: vec!["PATH=/bin".into(), "A=1".into()],
            cmd: Some(vec!["sh".into()]),
            entrypoint: None,
            working_dir: "/w".into(),
            ..Default::default()
        };
        let mut c = Config {
            env: vec!["A=2".into(), "B=3".into()],
            ..Default::default()
        };
        merge_image_defaults(&mut c, Some(&img));
        assert_eq!(c.env, vec!["PATH=/bin", "A=2", "B=3"]);
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.working_dir, "/w");
        let mut c = Config {
            entrypoint: Some(vec!["top".into()]),
            ..Default::default()
        };
        merge_image_defaults(&mut c, Some(&img));
        assert_eq!(c.cmd, None, "an entrypoint given drops the image's cmd");
        let mut c = Config::default();
        merge_image_defaults(&mut c, None);
        assert!(c.env[0].starts_with("PATH=/usr/local/sbin"));
    }
}
