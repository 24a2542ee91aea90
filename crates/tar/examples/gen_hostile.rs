//! Writes the hostile-tar corpus used by `tests/hostile.rs`:
//! `cargo run -p berth-tar --example gen_hostile -- crates/tar/tests/fixtures/hostile`
//!
//! Headers are built by hand so the corpus can hold what well-behaved tar writers refuse
//! to produce (`..` names, absolute names, NULs in PAX records, lying size fields).

use std::fs;
use std::path::Path;

#[derive(Clone)]
enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(&'static str),
    Hardlink(&'static str),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

#[derive(Clone)]
struct E {
    name: String,
    kind: Kind,
    mode: u32,
    pax: Vec<(String, Vec<u8>)>,
    gnu_long: bool,
}

fn e(name: &str, kind: Kind) -> E {
    let mode = match kind {
        Kind::Dir => 0o755,
        _ => 0o644,
    };
    E {
        name: name.to_string(),
        kind,
        mode,
        pax: Vec::new(),
        gnu_long: false,
    }
}

fn file(name: &str) -> E {
    e(name, Kind::File(b"owned\n".to_vec()))
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0width$o}", v, width = field.len() - 1);
    let b = s.as_bytes();
    let n = b.len().min(field.len() - 1);
    field[..n].copy_from_slice(&b[b.len() - n..]);
    field[field.len() - 1] = 0;
}

fn header(
    name: &[u8],
    typeflag: u8,
    size: u64,
    mode: u32,
    link: &[u8],
    dev: (u32, u32),
) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], mode as u64);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 1_000_000_000);
    h[156] = typeflag;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], dev.0 as u64);
    octal(&mut h[337..345], dev.1 as u64);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    octal(&mut h[148..155], sum as u64);
    h[155] = b' ';
    h
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(512) {
        out.push(0);
    }
}

fn pax_record(k: &str, v: &[u8]) -> Vec<u8> {
    let body_len = k.len() + v.len() + 3;
    let mut len = body_len + 1;
    while format!("{len}").len() + body_len != len {
        len = format!("{len}").len() + body_len;
    }
    let mut r = format!("{len} {k}=").into_bytes();
    r.extend_from_slice(v);
    r.push(b'\n');
    r
}

fn build(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for en in entries {
        if !en.pax.is_empty() {
            let mut body = Vec::new();
            for (k, v) in &en.pax {
                body.extend(pax_record(k, v));
            }
            out.extend(header(
                b"PaxHeader",
                b'x',
                body.len() as u64,
                0o644,
                b"",
                (0, 0),
            ));
            out.extend(&body);
            pad(&mut out);
        }
        if en.gnu_long {
            let mut n = en.name.as_bytes().to_vec();
            n.push(0);
            out.extend(header(
                b"././@LongLink",
                b'L',
                n.len() as u64,
                0o644,
                b"",
                (0, 0),
            ));
            out.extend(&n);
            pad(&mut out);
        }
        let name = en.name.as_bytes();
        let (flag, data, link, dev): (u8, &[u8], &[u8], (u32, u32)) = match &en.kind {
            Kind::File(d) => (b'0', d, b"", (0, 0)),
            Kind::Dir => (b'5', b"", b"", (0, 0)),
            Kind::Symlink(t) => (b'2', b"", t.as_bytes(), (0, 0)),
            Kind::Hardlink(t) => (b'1', b"", t.as_bytes(), (0, 0)),
            Kind::Char(a, b) => (b'3', b"", b"", (*a, *b)),
            Kind::Block(a, b) => (b'4', b"", b"", (*a, *b)),
            Kind::Fifo => (b'6', b"", b"", (0, 0)),
        };
        out.extend(header(name, flag, data.len() as u64, en.mode, link, dev));
        out.extend(data);
        pad(&mut out);
    }
    out.extend([0u8; 1024]);
    out
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: gen_hostile DIR");
    let dir = Path::new(&dir);
    fs::create_dir_all(dir).unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let mut add = |name: &'static str, entries: Vec<E>, expect: &'static str| {
        cases.push((name, build(&entries), expect));
    };
    let esc = "reject\npath escapes the layer root";
    add("dotdot", vec![file("../outside/canary")], esc);
    add("nested_dotdot", vec![file("a/../../outside/canary")], esc);
    add("dot_dotdot", vec![file("./../outside/canary")], esc);
    add(
        "deep_dotdot",
        vec![file("../../../../../../../../../tmp/berth-hostile")],
        esc,
    );
    add("dotdot_dir", vec![e("../outside/newdir", Kind::Dir)], esc);
    add(
        "dotdot_symlink_entry",
        vec![e("../outside/link", Kind::Symlink("/etc"))],
        esc,
    );
    add("absolute_file", vec![file("/outside/evil")], "contain");
    add("absolute_etc_passwd", vec![file("/etc/passwd")], "contain");
    add(
        "symlink_root_then_write",
        vec![e("l", Kind::Symlink("/")), file("l/outside/evil")],
        "contain",
    );
    add(
        "symlink_dotdot_then_write",
        vec![e("l", Kind::Symlink("..")), file("l/outside/canary")],
        "contain",
    );
    add(
        "symlink_chain_escape",
        vec![
            e("a", Kind::Symlink("b")),
            e("b", Kind::Symlink("../../outside")),
            file("a/canary"),
        ],
        "contain",
    );
    add(
        "symlink_abs_etc_then_write",
        // `etc -> /etc` resolves (in the root) to itself: a loop, refused like Docker does.
        vec![e("etc", Kind::Symlink("/etc")), file("etc/passwd")],
        "reject\nparent is not a directory",
    );
    add(
        "symlink_host_etc_then_write",
        vec![e("x", Kind::Symlink("/etc")), file("x/passwd")],
        "contain",
    );
    add(
        "dir_swapped_for_symlink",
        vec![
            e("d", Kind::Dir),
            e("d", Kind::Symlink("../outside")),
            file("d/x"),
        ],
        "contain",
    );
    add(
        "dir_with_files_replaced_by_symlink",
        vec![
            e("a", Kind::Dir),
            file("a/f"),
            e("a", Kind::Symlink("/outside")),
            file("a/g"),
        ],
        "contain",
    );
    add(
        "hardlink_abs_etc_passwd",
        vec![e("h", Kind::Hardlink("/etc/passwd"))],
        "reject\ntarget not found",
    );
    add(
        "hardlink_dotdot",
        vec![e("h", Kind::Hardlink("../outside/canary"))],
        "reject\ninvalid hardlink target",
    );
    add(
        "hardlink_through_symlink_parent",
        vec![
            e("l", Kind::Symlink("../outside")),
            e("h", Kind::Hardlink("l/canary")),
        ],
        "reject\ntarget not found",
    );
    add(
        "hardlink_to_symlink_then_write",
        vec![
            e("s", Kind::Symlink("../outside/canary")),
            e("h", Kind::Hardlink("s")),
            file("h"),
        ],
        "contain",
    );
    add(
        "hardlink_to_dir",
        vec![e("d", Kind::Dir), e("h", Kind::Hardlink("d"))],
        "reject\ntarget is a directory",
    );
    add(
        "hardlink_to_self_missing",
        vec![e("h", Kind::Hardlink("h2"))],
        "reject\ntarget not found",
    );
    add(
        "file_then_symlink_then_write",
        vec![
            file("x"),
            e("x", Kind::Symlink("../outside/canary")),
            file("x"),
        ],
        "contain",
    );
    add(
        "symlink_to_host_passwd_then_write",
        vec![e("p", Kind::Symlink("/etc/passwd")), file("p")],
        "contain",
    );
    add(
        "chmod_through_symlink",
        vec![
            e("x", Kind::Symlink("../outside/canary")),
            E {
                mode: 0o777,
                ..e("x", Kind::Dir)
            },
        ],
        "contain",
    );
    add(
        "chmod_dir_through_symlink",
        vec![
            e("y", Kind::Symlink("../outside")),
            E {
                mode: 0o777,
                ..e("y/", Kind::Dir)
            },
        ],
        "contain",
    );
    add(
        "whiteout_dotdot",
        vec![file(".wh...")],
        "reject\ninvalid whiteout name",
    );
    add(
        "whiteout_dot",
        vec![file(".wh..")],
        "reject\ninvalid whiteout name",
    );
    add("whiteout_escape_parent", vec![file("../.wh.canary")], esc);
    add(
        "whiteout_through_symlink",
        vec![e("l", Kind::Symlink("../outside")), file("l/.wh.canary")],
        "contain",
    );
    add(
        "opaque_in_root",
        vec![file("keep"), file(".wh..wh..opq")],
        "contain",
    );
    add(
        "duplicate_entries",
        vec![file("dup"), file("dup"), e("dup", Kind::Dir), file("dup")],
        "contain",
    );
    let long = format!("{}/f", "a".repeat(5000));
    add(
        "huge_pax_name",
        vec![E {
            pax: vec![("path".into(), long.clone().into_bytes())],
            ..file("short")
        }],
        "reject\nlimit on entry name length",
    );
    add(
        "pax_name_with_nul",
        vec![E {
            pax: vec![("path".into(), b"a\0b".to_vec())],
            ..file("short")
        }],
        "reject\nNUL byte",
    );
    add(
        "pax_path_dotdot",
        vec![E {
            pax: vec![("path".into(), b"../outside/evil".to_vec())],
            ..file("innocent")
        }],
        esc,
    );
    add(
        "gnu_longname_dotdot",
        vec![E {
            gnu_long: true,
            ..file(&format!("../{}/evil", "b".repeat(150)))
        }],
        esc,
    );
    add(
        "pax_xattr_trusted_overlay",
        vec![E {
            pax: vec![("SCHILY.xattr.trusted.overlay.opaque".into(), b"y".to_vec())],
            ..e("d", Kind::Dir)
        }],
        "contain",
    );
    add(
        "char_device",
        vec![e("dev/null", Kind::Char(1, 3))],
        "contain",
    );
    add("block_device", vec![e("sda", Kind::Block(8, 0))], "contain");
    add("fifo", vec![e("pipe", Kind::Fifo)], "contain");
    add(
        "setuid_file",
        vec![E {
            mode: 0o4755,
            ..file("bin/su")
        }],
        "contain",
    );

    add(
        "symlink_swapped_for_dir",
        vec![
            e("d", Kind::Symlink("../outside")),
            E {
                mode: 0o777,
                ..e("d/", Kind::Dir)
            },
            file("d/canary"),
        ],
        "contain",
    );
    // Deferred directory mtimes must not be applied through a symlink that replaced the
    // directory after its entry.
    add(
        "mtime_through_symlink",
        vec![
            e("d/", Kind::Dir),
            e("d", Kind::Symlink("../outside")),
            e("e/", Kind::Dir),
            e("e", Kind::Symlink("/etc")),
        ],
        "contain",
    );
    add(
        "whiteout_dir_component",
        vec![file("a/.wh.../x")],
        "reject\nwhiteout name used as a directory",
    );
    add(
        "opaque_through_symlink",
        vec![e("l", Kind::Symlink("../outside")), file("l/.wh..wh..opq")],
        "contain",
    );
    add(
        "opaque_through_abs_symlink",
        vec![e("l", Kind::Symlink("/etc")), file("l/.wh..wh..opq")],
        "contain",
    );
    add(
        "root_entry_not_a_dir",
        vec![file("./")],
        "reject\nnot a directory",
    );
    add(
        "hardlink_to_symlink_to_host",
        vec![
            e("s", Kind::Symlink("/etc/passwd")),
            e("h", Kind::Hardlink("s")),
            file("h"),
            file("s"),
        ],
        "contain",
    );
    add(
        "symlink_loop_then_write",
        vec![
            e("a", Kind::Symlink("b")),
            e("b", Kind::Symlink("a")),
            file("a/x"),
        ],
        "reject\nparent is not a directory",
    );
    add(
        "empty_symlink_target",
        vec![e("s", Kind::Symlink(""))],
        "reject\nempty symlink target",
    );
    add(
        "device_through_abs_symlink",
        vec![
            e("d", Kind::Symlink("/dev")),
            e("d/berth-evil", Kind::Char(1, 1)),
            e("d/berth-evil-blk", Kind::Block(8, 0)),
        ],
        "contain",
    );
    add(
        "fifo_through_dotdot_symlink",
        vec![
            e("p", Kind::Symlink("../../..")),
            e("p/outside/fifo", Kind::Fifo),
        ],
        "contain",
    );
    add(
        "dotdot_in_middle_clamped_by_name_check",
        vec![file("a/b/../../../outside/canary")],
        "reject\npath escapes the layer root",
    );
    add(
        "dir_then_file_then_dir",
        vec![
            e("x/", Kind::Dir),
            file("x/inner"),
            file("x"),
            e("x/", Kind::Dir),
            file("x/again"),
        ],
        "contain",
    );
    add(
        "hardlink_after_parent_swap",
        vec![
            file("real/f"),
            e("real", Kind::Symlink("../outside")),
            e("h", Kind::Hardlink("real/canary")),
        ],
        "reject\ntarget not found",
    );
    cases.push((
        "garbage",
        b"this is not a tar archive at all, just some text padded out ".repeat(20),
        "reject\n",
    ));
    let mut trunc = build(&[e("big", Kind::File(vec![7u8; 4096]))]);
    trunc.truncate(512 + 100);
    cases.push(("truncated", trunc, "reject\ntruncated"));
    let mut lying = header(b"liar", b'0', 0, 0o644, b"", (0, 0)).to_vec();
    lying[124..136].copy_from_slice(b"77777777777\0");
    lying[148..156].copy_from_slice(b"        ");
    let sum: u32 = lying.iter().map(|&b| b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    lying[148..156].copy_from_slice(s.as_bytes());
    cases.push(("absurd_size", lying, "reject\n"));

    // A PAX header announcing 4 GiB of records: must be refused before anything buffers it.
    let mut bomb = header(b"PaxHeader", b'x', 4 << 30, 0o644, b"", (0, 0)).to_vec();
    bomb.extend([b'9'; 512]);
    cases.push(("pax_header_bomb", bomb, "reject\nextended header size"));
    let mut longname = header(b"././@LongLink", b'L', 1 << 32, 0o644, b"", (0, 0)).to_vec();
    longname.extend([b'a'; 512]);
    cases.push((
        "gnu_longname_bomb",
        longname,
        "reject\nextended header size",
    ));
    // A base-256 negative size field.
    let mut neg = header(b"neg", b'0', 0, 0o644, b"", (0, 0)).to_vec();
    neg[124..136].copy_from_slice(&[0xff; 12]);
    neg[148..156].copy_from_slice(b"        ");
    let sum: u32 = neg.iter().map(|&b| b as u32).sum();
    neg[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    neg.extend([0u8; 1024]);
    cases.push(("negative_size", neg, "reject\n"));
    // Declares 1 MiB of data, carries 1 KiB.
    let mut short = header(b"short", b'0', 1 << 20, 0o644, b"", (0, 0)).to_vec();
    short.extend([1u8; 1024]);
    cases.push(("declared_size_exceeds_data", short, "reject\ntruncated"));
    // Bad checksum.
    let mut cks = build(&[file("x")]);
    cks[148] = b'7';
    cases.push(("bad_checksum", cks, "reject\nchecksum"));
    for (name, bytes, expect) in cases {
        fs::write(dir.join(format!("{name}.tar")), bytes).unwrap();
        fs::write(dir.join(format!("{name}.expect")), format!("{expect}\n")).unwrap();
    }
}
