//! `login` and `logout`.

use std::io::{BufRead, IsTerminal, Write};

use berth_engine::Engine;

use crate::args::{LoginArgs, LogoutArgs};
use crate::exit::StatusError;
use crate::output::write_stdout;

fn read_line_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin().lock().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

fn prompt(label: &str, hide: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(StatusError::error(
            1,
            "Error: Cannot perform an interactive login from a non TTY device",
        ));
    }
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    if !hide {
        return read_line_stdin();
    }
    let fd = std::io::stdin();
    let old = rustix::termios::tcgetattr(&fd).ok();
    if let Some(old) = &old {
        let mut t = old.clone();
        t.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(&fd, rustix::termios::OptionalActions::Now, &t);
    }
    let r = read_line_stdin();
    if let Some(old) = &old {
        let _ = rustix::termios::tcsetattr(&fd, rustix::termios::OptionalActions::Now, old);
    }
    eprintln!();
    r
}

/// Runs `login`.
pub fn run(a: LoginArgs) -> anyhow::Result<i32> {
    if a.password.is_some() && a.password_stdin {
        return Err(StatusError::error(
            1,
            "Error: --password and --password-stdin are mutually exclusive",
        ));
    }
    if a.password_stdin && a.username.is_none() {
        return Err(StatusError::error(
            1,
            "Error: Must provide --username with --password-stdin",
        ));
    }
    if a.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let server = a.server.as_deref();
    let mut password = a.password.clone();
    if a.password_stdin {
        let mut s = String::new();
        std::io::stdin().lock().read_to_string_lossy(&mut s)?;
        password = Some(s.trim_end_matches(['\n', '\r']).to_string());
    }
    let (username, password) = match (a.username.clone(), password) {
        (Some(u), Some(p)) => (u, p),
        (None, None) => match Engine::stored_credentials(server)? {
            Some(c) => {
                write_stdout("Authenticating with existing credentials...\n")?;
                (c.username, c.password)
            }
            None => {
                let u = prompt("Username: ", false)?;
                let p = prompt("Password: ", true)?;
                (u, p)
            }
        },
        (Some(u), None) => {
            let p = prompt("Password: ", true)?;
            (u, p)
        }
        (None, Some(p)) => (prompt("Username: ", false)?, p),
    };
    if username.is_empty() {
        return Err(StatusError::error(1, "Error: Username is required"));
    }
    if password.is_empty() {
        return Err(StatusError::error(1, "Error: Password is required"));
    }
    Engine::login(server, &username, &password)?;
    let store = berth_registry::CredentialStore::from_env();
    let has_helper = std::fs::read(store.path())
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("credsStore").is_some() || v.get("credHelpers").is_some());
    if !has_helper {
        eprintln!(
            "WARNING! Your password will be stored unencrypted in {}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n",
            store.path().display()
        );
    }
    write_stdout("Login Succeeded\n")?;
    Ok(0)
}

trait ReadLossy {
    fn read_to_string_lossy(&mut self, s: &mut String) -> std::io::Result<()>;
}

impl<R: std::io::Read> ReadLossy for R {
    fn read_to_string_lossy(&mut self, s: &mut String) -> std::io::Result<()> {
        let mut b = Vec::new();
        self.read_to_end(&mut b)?;
        s.push_str(&String::from_utf8_lossy(&b));
        Ok(())
    }
}

/// Runs `logout`.
pub fn logout(a: LogoutArgs) -> anyhow::Result<i32> {
    let (key, found) = Engine::logout(a.server.as_deref())?;
    if found {
        write_stdout(&format!("Removing login credentials for {key}\n"))?;
    } else {
        write_stdout(&format!("Not logged in to {key}\n"))?;
    }
    Ok(0)
}
