//! Ed25519 signatures over the exact bytes of a message.
//!
//! The controller serialises a [`Broadcast`] to JSON once; those bytes are the payload and
//! travel unchanged beside their signature in a [`SignedEnvelope`]. A player verifies the
//! signature over the payload bytes *before* parsing them, so there is no canonicalisation to
//! get wrong: whatever the player acts on is exactly what was signed. The signed bytes are
//! prefixed with [`DOMAIN`] so a signature made for anything else can never pass as an alert.

use crate::message::Broadcast;
pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use rand_core::CryptoRngCore;

pub use content::protocol::SignedEnvelope;

/// Domain separation for alert signatures (changing it invalidates every signature).
pub const DOMAIN: &[u8] = b"osaka-signage/alert/v1\n";

/// Domain of the desired state a controller signs for one player (configuration, manifest
/// reference, screenshot request): a signature made for it never passes as an alert, and an
/// alert's never as a configuration.
pub const DESIRED_DOMAIN: &[u8] = b"osaka-signage/desired/v1\n";

/// Domain of player builds the controller vouches for (`content::protocol::BuildStatement`).
pub const BUILD_DOMAIN: &[u8] = b"osaka-signage/player-build/v1\n";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("message is unsigned; players accept only messages signed by the controller")]
    Unsigned,
    #[error("signature is malformed ({0}); expected 128 hex digits")]
    Malformed(String),
    #[error(
        "signature does not match the controller's public key: the message was altered \
         or signed by another key; check the player's provisioned controller key"
    )]
    Invalid,
    #[error("signed payload is not an alert message: {0}")]
    Payload(String),
    #[error("key is malformed: {0}")]
    BadKey(String),
}

/// A new signing key from a cryptographic random source (e.g. `rand::rngs::OsRng`).
pub fn generate_key(rng: &mut impl CryptoRngCore) -> SigningKey {
    SigningKey::generate(rng)
}

/// Hex of the 32-byte secret, for the controller's key file.
pub fn signing_key_to_hex(key: &SigningKey) -> String {
    hex::encode(key.to_bytes())
}

pub fn signing_key_from_hex(text: &str) -> Result<SigningKey, SignatureError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|e| SignatureError::BadKey(e.to_string()))?
        .try_into()
        .map_err(|_| SignatureError::BadKey("a signing key is 32 bytes (64 hex digits)".into()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The controller's public key as players hold it, from provisioning. Only keys of Ed25519's
/// prime-order subgroup are accepted, checked once when the key is read: a small-order or
/// mixed-order key would let signatures be altered without the secret key, and
/// [`verify_payload`] relies on the check to stay as strict as `verify_strict` for less work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Hex of the 32 bytes, as players are provisioned with it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn from_hex(text: &str) -> Result<PublicKey, SignatureError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .map_err(|e| SignatureError::BadKey(e.to_string()))?
            .try_into()
            .map_err(|_| {
                SignatureError::BadKey("a public key is 32 bytes (64 hex digits)".into())
            })?;
        let key =
            VerifyingKey::from_bytes(&bytes).map_err(|e| SignatureError::BadKey(e.to_string()))?;
        if key.is_weak() || !key.to_edwards().is_torsion_free() {
            return Err(SignatureError::BadKey(
                "not a key of the Ed25519 prime-order subgroup".into(),
            ));
        }
        Ok(PublicKey(key))
    }
}

/// A signing key's public half is always in the prime-order subgroup (`[a]B`).
impl From<&SigningKey> for PublicKey {
    fn from(key: &SigningKey) -> PublicKey {
        PublicKey(key.verifying_key())
    }
}

/// The canonical encoding of the identity point: for a [`PublicKey`], the only small-order R
/// that can satisfy the verification equation.
const IDENTITY: [u8; 32] = {
    let mut bytes = [0; 32];
    bytes[0] = 1;
    bytes
};

fn signed_bytes(domain: &[u8], payload: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(domain.len() + payload.len());
    bytes.extend_from_slice(domain);
    bytes.extend_from_slice(payload.as_bytes());
    bytes
}

fn sign_in(domain: &[u8], payload: String, key: &SigningKey) -> SignedEnvelope {
    let signature = key.sign(&signed_bytes(domain, &payload));
    SignedEnvelope {
        payload,
        signature: hex::encode(signature.to_bytes()),
    }
}

/// Signs an arbitrary alert payload text.
pub fn sign_payload(payload: String, key: &SigningKey) -> SignedEnvelope {
    sign_in(DOMAIN, payload, key)
}

/// Checks `envelope`'s alert signature over its exact payload bytes.
pub fn verify_payload<'a>(
    envelope: &'a SignedEnvelope,
    key: &PublicKey,
) -> Result<&'a str, SignatureError> {
    verify_in(DOMAIN, envelope, key)
}

/// Serialises and signs desired state for one player (see [`DESIRED_DOMAIN`]).
pub fn sign_desired<T: serde::Serialize>(message: &T, key: &SigningKey) -> SignedEnvelope {
    let payload = serde_json::to_string(message).expect("desired state always serialises");
    sign_in(DESIRED_DOMAIN, payload, key)
}

/// Checks a desired-state signature; the text it returns is what was signed.
pub fn verify_desired<'a>(
    envelope: &'a SignedEnvelope,
    key: &PublicKey,
) -> Result<&'a str, SignatureError> {
    verify_in(DESIRED_DOMAIN, envelope, key)
}

fn verify_in<'a>(
    domain: &[u8],
    envelope: &'a SignedEnvelope,
    key: &PublicKey,
) -> Result<&'a str, SignatureError> {
    if envelope.signature.trim().is_empty() {
        return Err(SignatureError::Unsigned);
    }
    let bytes: [u8; 64] = hex::decode(&envelope.signature)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?
        .try_into()
        .map_err(|_| SignatureError::Malformed("not 64 bytes".into()))?;
    // As strict as `verify_strict` without its decompression of R (a fifth of the work, and a
    // thousand screens check each alert): `verify` compares R by its canonical encoding, and
    // for a [`PublicKey`] `[s]B - [k]A` lies in the prime-order subgroup, so the one
    // small-order R it can equal is the identity, refused first.
    if bytes[..32] == IDENTITY {
        return Err(SignatureError::Invalid);
    }
    let signature = Signature::from_bytes(&bytes);
    key.0
        .verify(&signed_bytes(domain, &envelope.payload), &signature)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(&envelope.payload)
}

/// Signs a statement about a player build (see [`BUILD_DOMAIN`]).
pub fn sign_build(
    statement: &content::protocol::BuildStatement,
    key: &SigningKey,
) -> SignedEnvelope {
    let payload = serde_json::to_string(statement).expect("a statement always serialises");
    sign_in(BUILD_DOMAIN, payload, key)
}

/// Checks a build statement's signature, then parses it.
pub fn verify_build(
    envelope: &SignedEnvelope,
    key: &PublicKey,
) -> Result<content::protocol::BuildStatement, SignatureError> {
    let payload = verify_in(BUILD_DOMAIN, envelope, key)?;
    serde_json::from_str(payload).map_err(|e| SignatureError::Payload(e.to_string()))
}

/// Serialises and signs a broadcast.
pub fn sign(broadcast: &Broadcast, key: &SigningKey) -> SignedEnvelope {
    let payload = serde_json::to_string(broadcast).expect("a broadcast always serialises");
    sign_payload(payload, key)
}

/// Verifies, then parses. Nothing of the payload is read before the signature holds.
pub fn verify(envelope: &SignedEnvelope, key: &PublicKey) -> Result<Broadcast, SignatureError> {
    let payload = verify_payload(envelope, key)?;
    serde_json::from_str(payload).map_err(|e| SignatureError::Payload(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_statements_verify_only_in_their_domain_and_unaltered() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let public = PublicKey::from(&key);
        let statement = content::protocol::BuildStatement {
            version: "1.4.0".into(),
            sha256: "ab".repeat(32).parse().unwrap(),
            size_bytes: 1234,
        };
        let signed = sign_build(&statement, &key);
        assert_eq!(verify_build(&signed, &public), Ok(statement));
        assert_eq!(
            verify_desired(&signed, &public),
            Err(SignatureError::Invalid)
        );
        let mut altered = signed.clone();
        altered.payload = altered.payload.replace("1234", "1235");
        assert_eq!(
            verify_build(&altered, &public),
            Err(SignatureError::Invalid)
        );
        let other = PublicKey::from(&SigningKey::from_bytes(&[8; 32]));
        assert_eq!(verify_build(&signed, &other), Err(SignatureError::Invalid));
    }

    #[test]
    fn desired_state_and_alert_signatures_never_pass_for_each_other() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = PublicKey::from(&key);
        let desired = sign_desired(&serde_json::json!({"id": "p1", "revision": 1}), &key);
        assert!(verify_desired(&desired, &public).is_ok());
        assert_eq!(
            verify_payload(&desired, &public),
            Err(SignatureError::Invalid)
        );
        let alert = sign_payload(desired.payload.clone(), &key);
        assert_eq!(
            verify_desired(&alert, &public),
            Err(SignatureError::Invalid)
        );
        let other = PublicKey::from(&SigningKey::from_bytes(&[8; 32]));
        assert_eq!(
            verify_desired(&desired, &other),
            Err(SignatureError::Invalid)
        );
    }
}
