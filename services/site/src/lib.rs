//! The public website (target `site`).
//!
//! Server-rendered HTML that works without JavaScript, Chinese first. It reads
//! only the public side of the read model; on PostgreSQL it connects as a role
//! that can read nothing else, so a template can never leak embargoed data.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use gongkai_store::Store;
use tokio::net::TcpListener;

/// Failures while running the site.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The listener's address could not be read or the server failed.
    #[error("site HTTP server failed")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
struct SiteState {
    store: Store,
}

/// The site's routes over `store`.
pub fn router(store: Store) -> Router {
    Router::new().route("/", get(home)).route("/healthz", get(healthz)).with_state(SiteState { store })
}

/// Serves the site on `listener` until `shutdown` resolves, finishing the
/// requests in flight.
pub async fn serve<F>(store: Store, listener: TcpListener, shutdown: F) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let address: SocketAddr = listener.local_addr()?;
    tracing::info!(%address, "Site listening.");
    axum::serve(listener, router(store)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

async fn home() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=30")], Html(HOME_PAGE))
}

/// Ready when the store answers.
async fn healthz(State(state): State<SiteState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::warn!(error = %error, "Site health check failed.");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

const HOME_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>公开 gongkai · 重大建设项目和PPP项目全过程信息公开</title>
<style>
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;max-width:48rem;margin:0 auto;padding:1rem;color:#1a1a1a;line-height:1.6}
h1{font-size:1.6rem;margin:.5rem 0}
p.lead{color:#333}
</style>
</head>
<body>
<header><h1>公开 <span lang="en">gongkai</span></h1></header>
<main>
<p class="lead">重大建设项目和政府和社会资本合作（PPP）项目从立项到竣工的全过程信息公开：审批、招标公告、资格审查与评标结果、中标、合同及履约。</p>
<p lang="en">The public record of major construction and PPP projects in China, from approval to completion.</p>
</main>
</body>
</html>
"#;
