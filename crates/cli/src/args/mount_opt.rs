//! `--mount` values → Docker's `Mount` objects, as docker CLI's `opts.MountOpt.Set` parses
//! them (a CSV record of `key=value` fields), with its messages.

use std::collections::BTreeMap;

use berth_engine::volumes::mounts::{
    BindOptions, DriverConfig, MountSpec, TmpfsOptions, VolumeOptions,
};

/// Go's `encoding/csv` reading one record: fields split on `,`, a field may be quoted with
/// `"` (and `""` inside a quoted field is a quote).
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut at_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                    match chars.peek() {
                        None | Some(',') => {}
                        Some(_) => {
                            return Err(format!(
                                "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                                cur.len() + 2
                            ))
                        }
                    }
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => {
                return Err(format!(
                    "parse error on line 1, column {}: bare \" in non-quoted-field",
                    cur.len() + 1
                ))
            }
            ',' => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
            }
            c => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(
            "parse error on line 1, column 0: extraneous or missing \" in quoted-field".into(),
        );
    }
    out.push(cur);
    Ok(out)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses one `--mount` value; the error is what Docker prints after
/// `invalid argument "…" for "--mount" flag: `.
pub fn parse(value: &str) -> Result<MountSpec, String> {
    let fields = csv_fields(value)?;
    let mut m = MountSpec {
        kind: "volume".into(),
        ..Default::default()
    };
    fn vol(m: &mut MountSpec) -> &mut VolumeOptions {
        let v = m.volume_options.get_or_insert_with(|| VolumeOptions {
            labels: Some(BTreeMap::new()),
            ..Default::default()
        });
        v.driver_config.get_or_insert_with(DriverConfig::default);
        v
    }
    fn bind(m: &mut MountSpec) -> &mut BindOptions {
        m.bind_options.get_or_insert_with(BindOptions::default)
    }
    fn tmpfs(m: &mut MountSpec) -> &mut TmpfsOptions {
        m.tmpfs_options.get_or_insert_with(TmpfsOptions::default)
    }
    fn set_map(map: &mut BTreeMap<String, String>, v: &str) {
        let (k, v) = v.split_once('=').unwrap_or((v, ""));
        if !k.is_empty() {
            map.insert(k.to_string(), v.to_string());
        }
    }
    for field in &fields {
        let Some((key, val)) = field.split_once('=') else {
            match field.as_str() {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => vol(&mut m).no_copy = true,
                "bind-nonrecursive" => bind(&mut m).non_recursive = true,
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let bad = || format!("invalid value for {key}: {val}");
        match key {
            "type" => m.kind = val.to_ascii_lowercase(),
            "source" | "src" => {
                m.source = val.to_string();
                if val == "." || val.starts_with("./") {
                    if let Ok(cwd) = std::env::current_dir() {
                        m.source = cwd.join(val).to_string_lossy().into_owned();
                        m.source = m
                            .source
                            .trim_end_matches("/.")
                            .replace("/./", "/")
                            .to_string();
                    }
                }
            }
            "target" | "dst" | "destination" => m.target = val.to_string(),
            "readonly" | "ro" => m.read_only = parse_bool(val).ok_or_else(bad)?,
            "consistency" => m.consistency = val.to_ascii_lowercase(),
            "bind-propagation" => bind(&mut m).propagation = val.to_ascii_lowercase(),
            "bind-nonrecursive" => bind(&mut m).non_recursive = parse_bool(val).ok_or_else(bad)?,
            "volume-nocopy" => {
                vol(&mut m).no_copy = parse_bool(val)
                    .ok_or_else(|| format!("invalid value for volume-nocopy: {val}"))?
            }
            "volume-label" => set_map(vol(&mut m).labels.get_or_insert_with(BTreeMap::new), val),
            "volume-driver" => {
                vol(&mut m)
                    .driver_config
                    .get_or_insert_with(DriverConfig::default)
                    .name = val.to_string()
            }
            "volume-opt" => {
                let dc = vol(&mut m)
                    .driver_config
                    .get_or_insert_with(DriverConfig::default);
                set_map(dc.options.get_or_insert_with(BTreeMap::new), val)
            }
            "volume-subpath" => vol(&mut m).subpath = val.to_string(),
            "tmpfs-size" => {
                tmpfs(&mut m).size_bytes =
                    berth_template::units::ram_in_bytes(val).map_err(|_| bad())?
            }
            "tmpfs-mode" => tmpfs(&mut m).mode = u32::from_str_radix(val, 8).map_err(|_| bad())?,
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.kind.is_empty() {
        return Err("type is required".into());
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    if m.volume_options.is_some() && m.kind != "volume" {
        return Err(format!(
            "cannot mix 'volume-*' options with mount type '{}'",
            m.kind
        ));
    }
    if m.bind_options.is_some() && m.kind != "bind" {
        return Err(format!(
            "cannot mix 'bind-*' options with mount type '{}'",
            m.kind
        ));
    }
    if m.tmpfs_options.is_some() && m.kind != "tmpfs" {
        return Err(format!(
            "cannot mix 'tmpfs-*' options with mount type '{}'",
            m.kind
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker_cli() {
        let m = parse("type=bind,src=/a,dst=/b,readonly,bind-propagation=rshared").unwrap();
        assert_eq!(
            (m.kind.as_str(), m.source.as_str(), m.target.as_str()),
            ("bind", "/a", "/b")
        );
        assert!(m.read_only);
        assert_eq!(m.bind_options.unwrap().propagation, "rshared");
        let m =
            parse("src=v,target=/d,volume-opt=type=tmpfs,volume-label=a=b,volume-nocopy").unwrap();
        assert_eq!(m.kind, "volume");
        let vo = m.volume_options.unwrap();
        assert!(vo.no_copy);
        assert_eq!(vo.labels.unwrap()["a"], "b");
        assert_eq!(vo.driver_config.unwrap().options.unwrap()["type"], "tmpfs");
        let m = parse("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        let t = m.tmpfs_options.unwrap();
        assert_eq!((t.size_bytes, t.mode), (64 << 20, 0o1770));
        assert_eq!(parse("type=bind,src=/a").unwrap_err(), "target is required");
        assert_eq!(
            parse("type=bind,dst=/a,foo=bar").unwrap_err(),
            "unexpected key 'foo' in 'foo=bar'"
        );
        assert_eq!(
            parse("type=bind,dst=/a,bogus").unwrap_err(),
            "invalid field 'bogus' must be a key=value pair"
        );
        assert_eq!(
            parse("type=tmpfs,dst=/a,volume-nocopy").unwrap_err(),
            "cannot mix 'volume-*' options with mount type 'tmpfs'"
        );
        assert_eq!(
            parse("type=volume,dst=/a,readonly=maybe").unwrap_err(),
            "invalid value for readonly: maybe"
        );
        assert_eq!(
            parse("type=bind,\"src=/a,b\",dst=/x").unwrap().source,
            "/a,b"
        );
    }
}
