//! Ed25519 signatures over the exact bytes of a message.
//!
//! The controller serialises a [`Broadcast`] to JSON once; those bytes are the payload and
//! travel unchanged beside their signature in a [`SignedEnvelope`]. A player verifies the
//! signature over the payload bytes *before* parsing them, so there is no canonicalisation to
//! get wrong: whatever the player acts on is exactly what was signed. The signed bytes are
//! prefixed with [`DOMAIN`] so a signature made for anything else can never pass as an alert.

pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
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
        .verify(&signed_bytes(&envelope.payload), &signature)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(&envelope.payload)
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
