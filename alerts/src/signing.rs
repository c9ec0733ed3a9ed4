//! Ed25519 signatures over the exact bytes of a message.
//!
//! The controller serialises a [`Broadcast`] to JSON once; those bytes are the payload and
//! travel unchanged beside their signature in a [`SignedEnvelope`]. A player verifies the
//! signature over the payload bytes *before* parsing them, so there is no canonicalisation to
//! get wrong: whatever the player acts on is exactly what was signed. The signed bytes are
//! prefixed with [`DOMAIN`] so a signature made for anything else can never pass as an alert.

use ed25519_dalek::{Signature, Signer};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::message::Broadcast;

/// Domain separation for alert signatures (changing it invalidates every signature).
pub const DOMAIN: &[u8] = b"osaka-signage/alert/v1\n";

/// A payload and its signature, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEnvelope {
    /// The exact JSON text that was signed.
    pub payload: String,
    /// Ed25519 signature, 64 bytes as lowercase hex; empty means unsigned.
    #[serde(default)]
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("alert message is unsigned; players accept only messages signed by the controller")]
    Unsigned,
    #[error("alert signature is malformed ({0}); expected 128 hex digits")]
    Malformed(String),
    #[error(
        "alert signature does not match the controller's public key: the message was altered \
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

/// Hex of the 32-byte public key players are provisioned with.
pub fn verifying_key_to_hex(key: &VerifyingKey) -> String {
    hex::encode(key.to_bytes())
}

pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey, SignatureError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|e| SignatureError::BadKey(e.to_string()))?
        .try_into()
        .map_err(|_| SignatureError::BadKey("a public key is 32 bytes (64 hex digits)".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| SignatureError::BadKey(e.to_string()))
}

fn signed_bytes(payload: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(DOMAIN.len() + payload.len());
    bytes.extend_from_slice(DOMAIN);
    bytes.extend_from_slice(payload.as_bytes());
    bytes
}

/// Signs an arbitrary payload text.
pub fn sign_payload(payload: String, key: &SigningKey) -> SignedEnvelope {
    let signature = key.sign(&signed_bytes(&payload));
    SignedEnvelope {
        payload,
        signature: hex::encode(signature.to_bytes()),
    }
}

/// Checks `envelope`'s signature over its exact payload bytes.
pub fn verify_payload<'a>(
    envelope: &'a SignedEnvelope,
    key: &VerifyingKey,
) -> Result<&'a str, SignatureError> {
    if envelope.signature.trim().is_empty() {
        return Err(SignatureError::Unsigned);
    }
    let bytes: [u8; 64] = hex::decode(&envelope.signature)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?
        .try_into()
        .map_err(|_| SignatureError::Malformed("not 64 bytes".into()))?;
    let signature = Signature::from_bytes(&bytes);
    key.verify_strict(&signed_bytes(&envelope.payload), &signature)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(&envelope.payload)
}

/// Serialises and signs a broadcast.
pub fn sign(broadcast: &Broadcast, key: &SigningKey) -> SignedEnvelope {
    let payload = serde_json::to_string(broadcast).expect("a broadcast always serialises");
    sign_payload(payload, key)
}

/// Verifies, then parses. Nothing of the payload is read before the signature holds.
pub fn verify(envelope: &SignedEnvelope, key: &VerifyingKey) -> Result<Broadcast, SignatureError> {
    let payload = verify_payload(envelope, key)?;
    serde_json::from_str(payload).map_err(|e| SignatureError::Payload(e.to_string()))
}
