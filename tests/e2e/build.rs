//! `berth build`: every instruction's effect checked by running or inspecting the image,
//! multi-stage builds, the cache, contexts (directory, tar, stdin), `.dockerignore`, and
//! failures that must leave nothing behind. RUN steps use `--network none` (no bridge).
// See: #6

use std::path::PathBuf;

use crate::support::containers::Ct;

/// An installation with busybox and a build context directory.
struct B {
    ct: Ct,
    n: std::cell::Cell<usize>,
}

impl std::ops::Deref for B {
    type Target = Ct;
    fn deref(&self) -> &Ct {
        &self.ct
    }
}

impl B {
    fn new() -> B {
        B {
            ct: Ct::new(),
            n: std::cell::Cell::new(0),
        }
    }

    /// A fresh context directory holding `files` (name, content).
    fn ctx(&self, files: &[(&str, &str)]) -> PathBuf {
        self.n.set(self.n.get() + 1);
        let dir = self.scratch().join(format!("ctx{}", self.n.get()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        }
        dir
    }

    /// `berth build --network none ARGS CTX`, asserting success; returns stderr (progress).
    #[track_caller]
    fn build(&self, ctx: &std::path::Path, args: &[&str]) -> String {
        let mut a = vec!["build", "--network", "none"];
        a.extend_from_slice(args);
        let c = ctx.display().to_string();
        a.push(&c);
        let o = self.cmd(&a).run();
        assert!(o.code == 0, "build failed\n{o}");
        o.stderr
    }

    /// A failing build: exit code 1; returns stderr.
    #[track_caller]
    fn build_fails(&self, ctx: &std::path::Path, args: &[&str]) -> String {
        let mut a = vec!["build", "--network", "none"];
        a.extend_from_slice(args);
        let c = ctx.display().to_string();
        a.push(&c);
        self.cmd(&a).fails_with(1)
    }

    /// `run --rm ARGS`'s stdout.
    #[track_caller]
    fn out(&self, args: &[&str]) -> String {
        let mut a = vec!["--rm"];
        a.extend_from_slice(args);
        let o = self.run(&a);
        assert!(o.code == 0, "run failed\n{o}");
        o.stdout
    }

    /// Nothing left: no containers, no mounts, no build scratch.
    #[track_caller]
    fn clean(&self) {
        assert_eq!(self.ok(&["ps", "-aq"]), "", "build containers left behind");
        let tmp = self.root_path().join("build-cache/tmp");
        let left: Vec<_> = std::fs::read_dir(&tmp)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "build scratch left behind: {left:?}");
        self.finish();
    }
}

#[test]
fn seed_node_shape_dockerfile() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nWORKDIR /app\nCOPY . .\nRUN echo built > /app/out.txt && ls /app\nEXPOSE 3000\nCMD [\"cat\", \"/app/server.js\"]\n",
        ),
        ("server.js", "console.log('hi')\n"),
        ("package.json", "{}\n"),
    ]);
    let err = b.build(&ctx, &["-t", "seed"]);
    assert!(err.contains("[4/4] RUN echo built"), "{err}");
    assert!(
        err.contains("naming to docker.io/library/seed:latest"),
        "{err}"
    );
    assert_eq!(b.out(&["seed"]), "console.log('hi')\n");
    assert_eq!(b.out(&["seed", "cat", "/app/out.txt"]), "built\n");
    assert_eq!(
        b.inspect(
            "seed",
            "{{.Config.WorkingDir}} {{json .Config.ExposedPorts}}"
        ),
        "/app {\"3000/tcp\":{}}"
    );
    b.clean();
}
