//! The web console: a small single-page app (plain HTML, CSS and JavaScript, no build step)
//! that staff use instead of the API. Every file is compiled into the binary, so nothing is
//! fetched from the internet at run time; the Content-Security-Policy says so to the browser
//! too. The app talks only to `/api/v1/...` with the session cookie and the CSRF header.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::AppState;

/// One embedded file: its URL path, media type and bytes.
struct Asset {
    path: &'static str,
    media_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        media_type: "text/html; charset=utf-8",
        body: include_bytes!("../console/index.html"),
    },
    Asset {
        path: "/console/app.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/app.js"),
    },
    Asset {
        path: "/console/layouts.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/layouts.js"),
    },
    Asset {
        path: "/console/calendar.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/calendar.js"),
    },
    Asset {
        path: "/console/fleet.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/fleet.js"),
    },
    Asset {
        path: "/console/changes.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/changes.js"),
    },
    Asset {
        path: "/console/i18n.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/i18n.js"),
    },
    Asset {
        path: "/console/app.css",
        media_type: "text/css; charset=utf-8",
        body: include_bytes!("../console/app.css"),
    },
    Asset {
        path: "/console/icon.svg",
        media_type: "image/svg+xml",
        body: include_bytes!("../console/icon.svg"),
    },
];

/// Same origin only; `blob:` for screenshot thumbnails and upload previews made in the page.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; \
                   style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for asset in ASSETS {
        router = router.route(asset.path, get(move || async move { serve(asset) }));
    }
    router
}

fn serve(asset: &'static Asset) -> Response {
    // The files change only with the binary; revalidating is cheap on a LAN.
    embedded(asset.media_type, asset.body, "no-cache", CSP)
}

/// A file compiled into the binary, with its media type, caching and security policy.
pub(crate) fn embedded(
    media_type: &'static str,
    body: &'static [u8],
    cache_control: &'static str,
    csp: &'static str,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, media_type),
        (header::CACHE_CONTROL, cache_control),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_and_nothing_comes_from_elsewhere() {
        for asset in ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.path);
            let text = std::str::from_utf8(asset.body).expect("text assets");
            // No CDN, no web fonts, no analytics: the console works on a closed LAN.
            for outside in ["http://", "https://", "//cdn", "@import"] {
                let allowed_xmlns = "http://www.w3.org/2000/svg";
                let stripped = text.replace(allowed_xmlns, "");
                assert!(
                    !stripped.contains(outside),
                    "{} refers to {outside}",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn the_page_loads_only_embedded_scripts_and_styles() {
        let page = std::str::from_utf8(ASSETS[0].body).unwrap();
        for reference in page
            .split(['"', '\''])
            .filter(|s| s.starts_with("/console/"))
        {
            assert!(
                ASSETS.iter().any(|a| a.path == reference),
                "index.html refers to {reference}, which is not embedded"
            );
        }
        assert!(page.contains("lang=\"ja\""), "Japanese by default");
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let i18n = ASSETS
            .iter()
            .find(|a| a.path == "/console/i18n.js")
            .unwrap();
        let text = std::str::from_utf8(i18n.body).unwrap();
        let keys = |lang: &str| -> Vec<String> {
            let start = text
                .find(&format!("{lang}: {{"))
                .unwrap_or_else(|| panic!("no {lang} table"));
            let body = &text[start..];
            let end = body.find("\n  },").expect("table end");
            let mut keys: Vec<String> = body[..end]
                .lines()
                .skip(1)
                .filter_map(|l| l.trim().split_once(':'))
                .map(|(k, _)| k.trim().trim_matches('\'').to_string())
                .filter(|k| !k.is_empty() && !k.starts_with("//"))
                .collect();
            keys.sort();
            keys
        };
        let (ja, en) = (keys("ja"), keys("en"));
        assert!(ja.len() > 50, "{} keys", ja.len());
        assert_eq!(ja, en, "ja and en must translate the same keys");
    }
}
