//! The Flight handshake: a principal's secret (`authorization: Basic`), or a client certificate the
//! catalog maps, exchanged for a sealed bearer token.

use std::pin::Pin;

use arrow_flight::HandshakeRequest;
use arrow_flight::HandshakeResponse;
use futures::Stream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::Service;
use crate::auth::{credential_of, decoy_for, verify_credential};
use crate::flight::caller::{basic_credentials, bearer_token, expiry};

/// How long a token bought with a client certificate alone stays valid.
const CERTIFIED_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(300);

type Replies = Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>;

impl Service {
    /// Answers a handshake with a bearer token (response header `authorization` and payload), or
    /// "authentication failed" whatever the reason.
    pub(super) async fn login(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let refused = |principal: &str| {
            self.metrics.denied("authentication");
            tracing::info!(principal = %principal, "handshake refused");
            Status::unauthenticated("authentication failed")
        };
        let certified = self.loaded().identities.certified(&request).map_err(|_| refused("?"))?;
        let basic = match request.metadata().get("authorization") {
            None => None,
            Some(_) => Some(basic_credentials(request.metadata()).map_err(|_| refused("?"))?),
        };
        let (principal, ttl) = match (basic, certified) {
            // A client certificate the catalog maps is the credential; `Basic :` adds nothing. The
            // token it buys is short-lived: the certificate, not the token, is the credential, and
            // a long-lived token would let it be used away from the certificate's key.
            (None, Some(principal)) => (principal, CERTIFIED_TOKEN_TTL),
            (Some((name, secret)), Some(principal)) if name.is_empty() && secret.is_empty() => {
                (principal, CERTIFIED_TOKEN_TTL)
            }
            (None, None) => return Err(refused("?")),
            (Some((principal, secret)), certified) => {
                if certified.is_some_and(|c| c != principal) || !self.check_secret(&principal, secret).await? {
                    return Err(refused(&principal));
                }
                (principal, self.config.token_ttl)
            }
        };
        let token = bearer_token(
            self.statements.sealer(),
            &principal,
            None,
            expiry(ttl.min(self.config.token_ttl)),
        );
        let header = format!("Bearer {token}");
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.into_bytes().into(),
        };
        let mut response: Response<Replies> = Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        let value = MetadataValue::try_from(header).map_err(|_| Status::internal("token is not a header value"))?;
        response.metadata_mut().insert("authorization", value);
        tracing::info!(principal = %principal, "handshake");
        Ok(response)
    }

    /// Whether `secret` is `principal`'s, checked off the async threads and at most one check per
    /// core at a time.
    async fn check_secret(&self, principal: &str, secret: String) -> Result<bool, Status> {
        let _turn = self
            .handshakes
            .acquire()
            .await
            .map_err(|_| Status::unavailable("shutting down"))?;
        // Only the principal's credential travels to the blocking thread, not the catalog.
        let credential = credential_of(self.loaded().catalog.spec(), principal).cloned();
        let decoy = decoy_for(self.loaded().catalog.spec());
        Ok(
            tokio::task::spawn_blocking(move || verify_credential(credential.as_ref(), &decoy, &secret))
                .await
                .unwrap_or(false),
        )
    }
}
