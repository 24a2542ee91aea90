//! A private network namespace for a networking test ([`TestNet`]): berth runs inside it
//! through `nsenter --net=…` (only the network namespace changes, so mounts made by berth
//! stay visible to later commands), and it is deleted, with everything in it, on drop.

use std::ffi::OsStr;
use std::process::Command;

use super::containers::Ct;
use super::Cmd;

/// A network namespace `berth-test-<random>` with `lo` up; removed on drop after its
/// containers are force-removed (from inside it).
pub struct TestNet<'a> {
    /// The namespace's name under `/run/netns`.
    pub name: String,
    ct: &'a Ct,
}

impl<'a> TestNet<'a> {
    /// Creates the namespace.
    pub fn new(ct: &'a Ct) -> TestNet<'a> {
        let name = format!("berth-test-{:08x}", rand_u32());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add");
        assert!(st.success(), "ip netns add {name} failed");
        let t = TestNet { name, ct };
        t.sh("ip link set lo up");
        t
    }

    /// The namespace file.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `berth ARGS` inside the namespace.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Cmd {
        let mut c = self.ct.cmd(args);
        let mut inner = Command::new("nsenter");
        inner.arg(format!("--net={}", self.path()));
        inner.arg(c.cmd.get_program());
        inner.args(c.cmd.get_args());
        for (k, v) in c.cmd.get_envs() {
            match v {
                Some(v) => inner.env(k, v),
                None => inner.env_remove(k),
            };
        }
        c.cmd = inner;
        c
    }

    /// Runs `berth ARGS` inside; asserts exit 0; returns stdout.
    #[track_caller]
    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        self.cmd(args).ok()
    }

    /// Runs `berth ARGS` inside; asserts exit `code`; returns stderr.
    #[track_caller]
    pub fn fails_with<S: AsRef<OsStr>>(&self, args: &[S], code: i32) -> String {
        self.cmd(args).fails_with(code)
    }

    /// Runs a shell command inside the namespace; returns (success, stdout+stderr).
    pub fn try_sh(&self, script: &str) -> (bool, String) {
        let o = Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .args(["sh", "-c", script])
            .output()
            .expect("nsenter");
        let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&o.stderr));
        (o.status.success(), s)
    }

    /// Runs a shell command inside the namespace; asserts success; returns its output.
    #[track_caller]
    pub fn sh(&self, script: &str) -> String {
        let (ok, out) = self.try_sh(script);
        assert!(ok, "`{script}` failed in {}:\n{out}", self.name);
        out
    }

    /// The interfaces of the namespace.
    pub fn links(&self) -> Vec<String> {
        self.sh("cat /proc/net/dev")
            .lines()
            .skip(2)
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
            .collect()
    }

    /// `nft list ruleset` of the namespace.
    pub fn ruleset(&self) -> String {
        self.sh("nft list ruleset")
    }
}

impl Drop for TestNet<'_> {
    fn drop(&mut self) {
        let ids = self.cmd(&["ps", "-aq", "--no-trunc"]).run();
        for id in ids.stdout.lines().filter(|l| !l.is_empty()) {
            let _ = self.cmd(&["rm", "-f", id]).run();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut b);
    }
    u32::from_ne_bytes(b) ^ std::process::id()
}
