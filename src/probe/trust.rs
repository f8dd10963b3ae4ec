//! The system's trust, read at the first certificate it has to judge: a
//! daemon that speaks only plain HTTP (a push to a receiver on its own
//! network, a heartbeat over http) never loads the system's certificates,
//! about 100 KiB held for as long as it runs.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The platform's verifier, made when first asked; one that cannot be made
/// (no certificates) fails that handshake and is tried again at the next.
#[derive(Debug)]
pub struct LazyTrust {
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<rustls_platform_verifier::Verifier>,
}

impl LazyTrust {
    pub fn new(provider: Arc<CryptoProvider>) -> LazyTrust {
        LazyTrust {
            provider,
            verifier: OnceLock::new(),
        }
    }

    fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        if let Some(v) = self.verifier.get() {
            return Ok(v);
        }
        let v = rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider))?;
        Ok(self.verifier.get_or_init(|| v))
    }
}

impl ServerCertVerifier for LazyTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // The signatures of a handshake are checked with the provider's
    // algorithms, as the platform's verifier checks them: no trust needed.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
