//! `signage-controller user ...` and `token ...`: accounts and API tokens from the shell, for
//! the first administrator and for automation. They work on the data directory directly, with
//! or without a running controller (SQLite in WAL mode allows both).

use anyhow::{Context, bail};

use crate::auth::{check_account_name, check_password_strength};
use crate::broker::random_token;
use crate::config::ControllerConfig;
use crate::store::accounts::{parse_role, role_name};
use crate::store::{AuditEntry, NewToken, Store};

fn role(text: &str) -> anyhow::Result<crate::auth::Role> {
    parse_role(text).with_context(|| {
        format!("unknown role {text:?}: use admin, pr, approver, disaster or viewer")
    })
}

async fn open(config: &ControllerConfig) -> anyhow::Result<Store> {
    Store::open(&config.data_dir)
        .await
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))
}

async fn audit(store: &Store, action: &str, target: &str, detail: serde_json::Value) {
    let entry = AuditEntry {
        actor: "cli",
        role: None,
        action,
        target: Some(target),
        outcome: "ok",
        detail: Some(detail),
    };
    if let Err(e) = store.audit(&entry).await {
        eprintln!("warning: cannot write the audit log: {e}");
    }
}

pub async fn add_user(
    config: &ControllerConfig,
    name: &str,
    role_text: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let role = role(role_text)?;
    check_account_name(name).map_err(anyhow::Error::msg)?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        // 20 characters of a 256-bit token: about 80 bits, typed once and then changed.
        (random_token()[..20].to_string(), true)
    };
    if let Err(e) = check_password_strength(&password) {
        bail!("{e}");
    }
    let store = open(config).await?;
    store.upsert_account(name, role, &password).await?;
    audit(
        &store,
        "user.create",
        name,
        serde_json::json!({ "role": role_name(role) }),
    )
    .await;
    println!("account {name} ({}) is ready", role_name(role));
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

pub async fn list_users(config: &ControllerConfig) -> anyhow::Result<()> {
    let store = open(config).await?;
    for account in store.accounts().await? {
        println!(
            "{}\t{}{}",
            account.name,
            role_name(account.role),
            if account.disabled { "\tdisabled" } else { "" }
        );
    }
    Ok(())
}

pub async fn create_token(
    config: &ControllerConfig,
    role_text: &str,
    label: &str,
) -> anyhow::Result<()> {
    let role = role(role_text)?;
    let store = open(config).await?;
    let token = random_token();
    let id = store
        .create_token(
            &token,
            &NewToken {
                role,
                label: label.chars().take(100).collect(),
                created_by: "cli".into(),
                expires_at: None,
            },
        )
        .await?;
    audit(
        &store,
        "token.create",
        &id,
        serde_json::json!({ "role": role_name(role) }),
    )
    .await;
    println!(
        "token {id} ({}) created; send it as `Authorization: Bearer TOKEN`:",
        role_name(role)
    );
    println!("{token}");
    Ok(())
}
