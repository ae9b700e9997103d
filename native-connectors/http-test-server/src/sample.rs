//! A public-API-shaped dataset for `samples/rest` and `bench/rest.py`: `/v1/customers` and
//! `/v1/orders`, paged (`page`, `per_page`, RFC 8288 `Link` headers, `meta.total_pages`),
//! filtered by `updated_since`, behind a bearer token. Records are made up from their
//! number, so any count can be served without holding it.

use serde_json::{Value, json};

use crate::{HttpServer, Request, Response};

/// The token the sample API accepts.
pub const SAMPLE_TOKEN: &str = "hygge-sample-token";

/// The `updated_at` of record `n`: one minute apart, from 2026-01-01.
fn updated_at(n: usize) -> String {
    let minutes = n;
    let (days, rest) = (minutes / 1440, minutes % 1440);
    let date = 20_454 + days as i64; // 2026-01-01 as days since 1970-01-01
    let (y, m, d) = civil(date);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:00Z", rest / 60, rest % 60)
}

/// Days since 1970-01-01 as (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const CITIES: [&str; 4] = ["Oslo", "Lyon", "Porto", "Turku"];
const COUNTRIES: [&str; 4] = ["NO", "FR", "PT", "FI"];
const STATUSES: [&str; 3] = ["open", "paid", "shipped"];

fn record(entity: &str, n: usize) -> Value {
    match entity {
        "customers" => json!({
            "id": n + 1,
            "name": format!("Customer {}", n + 1),
            "email": format!("customer{}@example.com", n + 1),
            "address": {"city": CITIES[n % 4], "country": COUNTRIES[n % 4]},
            "tags": if n.is_multiple_of(3) { json!(["vip"]) } else { json!([]) },
            "balance": format!("{}.{:02}", n * 7 % 10_000, n % 100),
            "updated_at": updated_at(n),
        }),
        _ => json!({
            "id": n + 1,
            "customer_id": n % 1000 + 1,
            "status": STATUSES[n % 3],
            "amount": (n % 50_000) as f64 / 100.0 + 1.0,
            "updated_at": updated_at(n),
        }),
    }
}

fn answer(request: &Request, records: usize, default_page_size: usize) -> Response {
    if request.header("authorization") != Some(&format!("Bearer {SAMPLE_TOKEN}")) {
        return Response::json(&json!({"error": "missing or wrong bearer token"})).status_code(401);
    }
    let Some(entity) = request.path.strip_prefix("/v1/") else {
        return Response::status(404, "not found");
    };
    if entity != "customers" && entity != "orders" {
        return Response::status(404, "no such resource");
    }
    let per_page = request
        .param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(default_page_size)
        .clamp(1, 10_000);
    let page = request
        .param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    // Records past `updated_since`: those numbered from `first` on (updated_at grows with n).
    let first = match request.param("updated_since") {
        None => 0,
        Some(since) => {
            let (mut low, mut high) = (0, records);
            while low < high {
                let middle = low + (high - low) / 2;
                if updated_at(middle).as_str() <= since {
                    low = middle + 1;
                } else {
                    high = middle;
                }
            }
            low
        }
    };
    let total = records - first.min(records);
    let total_pages = total.div_ceil(per_page).max(1);
    let from = first + (page - 1) * per_page;
    let to = (from + per_page).min(records);
    let data: Vec<Value> = (from..to).map(|n| record(entity, n)).collect();
    let mut response = Response::json(&json!({
        "data": data,
        "meta": {"page": page, "per_page": per_page, "total_pages": total_pages},
    }));
    if page < total_pages {
        let mut query: Vec<String> = request
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        query.push(format!("page={}", page + 1));
        response = response.header(
            "link",
            &format!("<{}?{}>; rel=\"next\"", request.path, query.join("&")),
        );
    }
    response
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Serves `records` customers and `records` orders on `port` (0: a free one), `page_size`
/// a page unless the request says `per_page`.
///
/// # Errors
/// When the port cannot be had.
pub fn sample_api(port: u16, records: usize, page_size: usize) -> std::io::Result<HttpServer> {
    HttpServer::start_on(port, move |request| answer(request, records, page_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_count_minutes_from_2026() {
        assert_eq!(updated_at(0), "2026-01-01T00:00:00Z");
        assert_eq!(updated_at(61), "2026-01-01T01:01:00Z");
        assert_eq!(updated_at(1440 * 59), "2026-03-01T00:00:00Z");
    }
}
