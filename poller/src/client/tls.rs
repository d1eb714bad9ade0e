//! Trust roots and the client certificate, turned into ureq's rustls configuration.

use std::path::Path;
use std::sync::Arc;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig, TlsProvider};

use super::{ClientCertificate, ClientConfig, ClientError};

pub(super) fn tls_config(config: &ClientConfig) -> Result<TlsConfig, ClientError> {
    // Mozilla's roots (as full certificates, so that extra CAs can join them) plus the extras.
    let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    for path in &config.ca_certificates {
        let pem = read(path, "CA certificate file")?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            if let PemItem::Certificate(c) = item.map_err(|e| pem_error(path, e))? {
                roots.push(c);
            }
        }
        if roots.len() == before {
            return Err(ClientError::Config(format!(
                "{}: no PEM certificate in the CA file",
                path.display()
            )));
        }
    }
    let client_cert = match &config.certificate {
        None => None,
        Some(ClientCertificate::Pkcs12 { path, password }) => Some(pkcs12(
            path,
            password.as_ref().map(|p| p.expose()).unwrap_or(""),
        )?),
        Some(ClientCertificate::Pem { cert, key }) => Some(pem_pair(cert, key)?),
    };
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .client_cert(client_cert)
        .build())
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| ClientError::Config(format!("{what} {}: {e}", path.display())))
}

fn pem_error(path: &Path, e: ureq::Error) -> ClientError {
    ClientError::Config(format!("{}: bad PEM: {e}", path.display()))
}

fn pkcs12(path: &Path, password: &str) -> Result<ClientCert, ClientError> {
    let der = read(path, "PKCS#12 file")?;
    // The error text of a wrong password names no secret; keep it.
    let store = p12_keystore::KeyStore::from_pkcs12(&der, password).map_err(|e| {
        ClientError::Config(format!(
            "{}: cannot open the PKCS#12 bundle (wrong password?): {e}",
            path.display()
        ))
    })?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err(ClientError::Config(format!(
            "{}: the PKCS#12 bundle holds no private key",
            path.display()
        )));
    };
    let certs: Vec<Certificate<'static>> = chain
        .chain()
        .iter()
        .map(|c| Certificate::from_der(c.as_der()).to_owned())
        .collect();
    if certs.is_empty() {
        return Err(ClientError::Config(format!(
            "{}: the PKCS#12 bundle holds no certificate for its key",
            path.display()
        )));
    }
    // ureq takes DER keys only with a kind it does not export; PKCS#12 keys are PKCS#8.
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        super::base64(chain.key())
    );
    let key = PrivateKey::from_pem(pem.as_bytes()).map_err(|e| pem_error(path, e))?;
    Ok(ClientCert::new_with_certs(&certs, key))
}

fn pem_pair(cert: &Path, key: &Path) -> Result<ClientCert, ClientError> {
    let pem = read(cert, "client certificate")?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let PemItem::Certificate(c) = item.map_err(|e| pem_error(cert, e))? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(ClientError::Config(format!(
            "{}: no PEM certificate",
            cert.display()
        )));
    }
    let key_pem = read(key, "client key")?;
    let key = PrivateKey::from_pem(&key_pem).map_err(|e| pem_error(key, e))?;
    Ok(ClientCert::new_with_certs(&certs, key))
}
