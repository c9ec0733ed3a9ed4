//! The Debian packages and the offline bundle (`scripts/package.sh`), built from this build's
//! binaries, installed into a throwaway root with dpkg (maintainer scripts included), then
//! upgraded, removed and purged: units, the system user, private directories and the open-file
//! limit are there, and data, keys and the operator's configuration survive every step.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// A root dpkg can install into: its database and the account files the scripts edit.
fn throwaway_root(root: &Path) {
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "etc",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for (file, text) in [
        ("var/lib/dpkg/status", ""),
        ("var/lib/dpkg/available", ""),
        ("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
        ("etc/group", "root:x:0:\n"),
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
        ("etc/gshadow", "root:*::\n"),
    ] {
        std::fs::write(root.join(file), text).unwrap();
    }
}

fn dpkg(root: &Path, args: &[&str]) -> String {
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-script-chrootless",
            "--force-depends",
            "--force-confold",
        ])
        .args(args))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn packages_install_upgrade_and_remove_keeping_data_and_keys() {
    if unsafe { libc_geteuid() } != 0 {
        println!(
            "SKIPPED: installing packages into a throwaway root needs root (chown of the service's directories)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("packages");
    let bin_dir: PathBuf = e2e::bin("signage-controller")
        .parent()
        .unwrap()
        .to_path_buf();
    let said = run(Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/package.sh"
        ))
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--out")
        .arg(&out));
    assert!(said.contains("signage-offline-"), "{said}");
    let version = env!("CARGO_PKG_VERSION");
    let arch = run(Command::new("dpkg").arg("--print-architecture"))
        .trim()
        .to_owned();
    let controller = out.join(format!("signage-controller_{version}_{arch}.deb"));
    let player = out.join(format!("signage-player_{version}_{arch}.deb"));

    // What the packages say and hold.
    let depends = run(Command::new("dpkg-deb")
        .arg("-f")
        .arg(&controller)
        .arg("Depends"));
    assert!(
        depends.contains("libc6") && depends.contains("adduser"),
        "{depends}"
    );
    let player_depends = run(Command::new("dpkg-deb")
        .arg("-f")
        .arg(&player)
        .arg("Depends"));
    assert!(
        player_depends.contains("gstreamer1.0-libav"),
        "{player_depends}"
    );
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&controller));
    for path in [
        "./usr/bin/signage-controller",
        "./lib/systemd/system/signage-controller.service",
        "./etc/signage/controller.toml",
    ] {
        assert!(listing.contains(path), "{path} in\n{listing}");
    }
    let bundle = run(Command::new("tar")
        .arg("-tzf")
        .arg(out.join(format!("signage-offline-{version}-{arch}.tar.gz"))));
    for file in ["debian-packages.txt", "INSTALL.txt", "signage-player_"] {
        assert!(bundle.contains(file), "{file} in\n{bundle}");
    }

    // Install both into a throwaway root.
    let root = dir.path().join("root");
    throwaway_root(&root);
    dpkg(
        &root,
        &["-i", controller.to_str().unwrap(), player.to_str().unwrap()],
    );
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let signage = passwd
        .lines()
        .find(|l| l.starts_with("signage:"))
        .expect("the signage system user");
    let uid: u32 = signage.split(':').nth(2).unwrap().parse().unwrap();
    assert!(uid < 1000, "a system user: {signage}");
    assert!(signage.ends_with("/usr/sbin/nologin"), "{signage}");
    let data = root.join("var/lib/signage/controller");
    let cache = root.join("var/cache/signage-player");
    for d in [&data, &cache] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
        assert_eq!(std::fs::metadata(d).unwrap().uid(), uid, "{}", d.display());
    }
    assert_eq!(mode(&root.join("usr/bin/signage-controller")), 0o755);
    let config = root.join("etc/signage/controller.toml");
    assert_eq!(mode(&config), 0o640);
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .starts_with("data_dir = \"/var/lib/signage/controller\"")
    );
    for unit in ["signage-controller", "signage-player"] {
        let text = std::fs::read_to_string(root.join(format!("lib/systemd/system/{unit}.service")))
            .unwrap();
        assert!(text.contains("User=signage"), "{text}");
        assert!(text.contains("LimitNOFILE=65536"), "{text}");
        assert!(
            text.contains(&format!("ExecStart=/usr/bin/{unit} ")),
            "{text}"
        );
    }

    // The controller's data and key, and an operator's edit of the configuration.
    std::fs::write(data.join("alert-signing.key"), "the key players trust").unwrap();
    std::fs::write(data.join("controller.db"), "the store").unwrap();
    let mut edited = std::fs::read_to_string(&config).unwrap();
    edited.push_str("# the ward's own settings\n");
    std::fs::write(&config, &edited).unwrap();

    // Upgrade (the same package again runs the upgrade path), remove, purge: all kept.
    dpkg(&root, &["-i", controller.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    dpkg(&root, &["-r", "signage-controller"]);
    assert!(!root.join("usr/bin/signage-controller").exists());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    let purged = dpkg(&root, &["-P", "signage-controller", "signage-player"]);
    assert!(purged.contains("are kept"), "{purged}");
    assert_eq!(
        std::fs::read_to_string(data.join("alert-signing.key")).unwrap(),
        "the key players trust"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("controller.db")).unwrap(),
        "the store"
    );
    assert!(cache.is_dir());
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
