//! Test images made here, from the host's busybox-static: layer tars, configs, and writers
//! for docker-archive (legacy and Docker ≥ 25 layouts) and OCI image layouts.

use std::io::Write;

use serde_json::json;

use crate::harness::sha256;

/// A layer under construction.
#[derive(Default)]
pub struct Layer {
    b: Option<tar::Builder<Vec<u8>>>,
}

impl Layer {
    pub fn new() -> Layer {
        Layer {
            b: Some(tar::Builder::new(Vec::new())),
        }
    }

    fn hdr(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_mtime(1_600_000_000);
        h.set_size(size);
        h
    }

    pub fn dir(mut self, p: &str) -> Layer {
        let mut h = Self::hdr(tar::EntryType::Directory, 0o755, 0);
        self.b
            .as_mut()
            .unwrap()
            .append_data(&mut h, p, &[][..])
            .unwrap();
        self
    }

    pub fn file(mut self, p: &str, data: &[u8], mode: u32) -> Layer {
        let mut h = Self::hdr(tar::EntryType::Regular, mode, data.len() as u64);
        self.b
            .as_mut()
            .unwrap()
            .append_data(&mut h, p, data)
            .unwrap();
        self
    }

    pub fn symlink(mut self, p: &str, target: &str) -> Layer {
        let mut h = Self::hdr(tar::EntryType::Symlink, 0o777, 0);
        self.b
            .as_mut()
            .unwrap()
            .append_link(&mut h, p, target)
            .unwrap();
        self
    }

    pub fn bytes(mut self) -> Vec<u8> {
        self.b.take().unwrap().into_inner().unwrap()
    }

    /// A busybox root filesystem from /bin/busybox (Debian's busybox-static).
    pub fn busybox() -> Vec<u8> {
        let bb = std::fs::read("/bin/busybox").expect("/bin/busybox (install busybox-static)");
        let mut l = Layer::new()
            .dir("bin/")
            .dir("etc/")
            .dir("tmp/")
            .dir("root/")
            .file("bin/busybox", &bb, 0o755)
            .file(
                "etc/passwd",
                b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
                0o644,
            )
            .file("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644);
        for applet in [
            "sh", "ls", "cat", "echo", "true", "false", "sleep", "id", "wget", "nc",
        ] {
            l = l.symlink(&format!("bin/{applet}"), "busybox");
        }
        l.bytes()
    }
}

/// An image under construction.
pub struct Image {
    pub layers: Vec<Vec<u8>>,
    pub tags: Vec<String>,
    pub config: serde_json::Value,
}

impl Image {
    pub fn new(layers: Vec<Vec<u8>>, tags: &[&str]) -> Image {
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| format!("sha256:{}", sha256(l)))
            .collect();
        let history: Vec<_> = layers
            .iter()
            .enumerate()
            .map(|(i, _)| json!({"created": "2024-01-02T03:04:05Z", "created_by": format!("/bin/sh -c #(nop) ADD layer{i} in /")}))
            .collect();
        Image {
            config: json!({
                "architecture": "amd64",
                "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Labels": {"org.test": "yes"}},
                "created": "2024-01-02T03:04:05Z",
                "history": history,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            }),
            layers,
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn busybox(tags: &[&str]) -> Image {
        Image::new(vec![Layer::busybox()], tags)
    }

    /// A small image whose single layer is unique to `seed`.
    pub fn tiny(seed: &str, tags: &[&str]) -> Image {
        Image::new(
            vec![Layer::new()
                .file(&format!("{seed}.txt"), seed.as_bytes(), 0o644)
                .bytes()],
            tags,
        )
    }

    pub fn created(mut self, t: &str) -> Image {
        self.config["created"] = json!(t);
        self
    }

    pub fn config_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.config).unwrap()
    }

    pub fn id(&self) -> String {
        format!("sha256:{}", sha256(&self.config_bytes()))
    }

    pub fn diff_ids(&self) -> Vec<String> {
        self.layers
            .iter()
            .map(|l| format!("sha256:{}", sha256(l)))
            .collect()
    }
}

fn add(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data).unwrap();
}

/// A docker-archive as `docker save` of Docker ≤ 24 writes it.
pub fn docker_archive(images: &[&Image]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut manifest = Vec::new();
    for img in images {
        let cfg = img.config_bytes();
        let cfg_name = format!("{}.json", sha256(&cfg));
        add(&mut b, &cfg_name, &cfg);
        let mut paths = Vec::new();
        for l in &img.layers {
            let p = format!("{}/layer.tar", sha256(l));
            add(&mut b, &format!("{}/VERSION", sha256(l)), b"1.0");
            add(&mut b, &p, l);
            paths.push(p);
        }
        manifest.push(json!({"Config": cfg_name, "RepoTags": img.tags, "Layers": paths}));
    }
    add(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.into_inner().unwrap()
}

/// How OCI layer blobs are compressed.
#[derive(Clone, Copy)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

/// An OCI image layout (as a tar), with index annotations as containerd writes them.
pub fn oci_archive(images: &[&Image], comp: Comp) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let mut index = Vec::new();
    for img in images {
        let cfg = img.config_bytes();
        add(&mut b, &format!("blobs/sha256/{}", sha256(&cfg)), &cfg);
        let mut layers = Vec::new();
        for l in &img.layers {
            let (data, mt) = match comp {
                Comp::None => (l.clone(), "application/vnd.oci.image.layer.v1.tar"),
                Comp::Gzip => {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(l).unwrap();
                    (
                        e.finish().unwrap(),
                        "application/vnd.oci.image.layer.v1.tar+gzip",
                    )
                }
                Comp::Zstd => (
                    zstd_encode(l),
                    "application/vnd.oci.image.layer.v1.tar+zstd",
                ),
            };
            add(&mut b, &format!("blobs/sha256/{}", sha256(&data)), &data);
            layers.push(json!({"mediaType": mt, "digest": format!("sha256:{}", sha256(&data)), "size": data.len()}));
        }
        let m = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", sha256(&cfg)), "size": cfg.len()},
            "layers": layers,
        });
        let mb = serde_json::to_vec(&m).unwrap();
        add(&mut b, &format!("blobs/sha256/{}", sha256(&mb)), &mb);
        let mut d = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", sha256(&mb)), "size": mb.len()});
        if let Some(t) = img.tags.first() {
            d["annotations"] = json!({"io.containerd.image.name": t, "org.opencontainers.image.ref.name": t.rsplit(':').next().unwrap()});
        }
        index.push(d);
    }
    add(
        &mut b,
        "index.json",
        &serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": index})).unwrap(),
    );
    b.into_inner().unwrap()
}

fn zstd_encode(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}
