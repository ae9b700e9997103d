use std::collections::BTreeMap;

use hygge_runtime::contract::Role;
use hygge_runtime::testing::connector_config;

use super::*;

fn problem(connector: &AzureStore, yaml: &str) -> ConfigProblem {
    match store(connector, yaml) {
        Ok(spec) => panic!("accepted: {}", spec.describe()),
        Err(problem) => problem,
    }
}

fn store(connector: &AzureStore, yaml: &str) -> Result<Arc<dyn StoreSpec>, ConfigProblem> {
    let value: Value = serde_yaml::from_str(yaml).unwrap();
    let connections = BTreeMap::new();
    connector
        .store(&connector_config(&value, Role::Store, &connections))
        .unwrap()
}

#[test]
fn azure_endpoints_become_abfss_urls_and_others_an_endpoint() {
    let (url, keys) = location("https://acct.dfs.core.windows.net", "data", "raw/e/").unwrap();
    assert_eq!(url, "abfss://data@acct.dfs.core.windows.net/raw/e");
    assert!(!keys.contains_key("endpoint"));
    let (url, _) = location(
        "https://onelake.dfs.fabric.microsoft.com",
        "ws",
        "lh.Lakehouse/Files/e",
    )
    .unwrap();
    assert_eq!(
        url,
        "abfss://ws@onelake.dfs.fabric.microsoft.com/lh.Lakehouse/Files/e"
    );
    let (url, keys) = location("http://127.0.0.1:10000/devstoreaccount1", "data", "/raw/").unwrap();
    assert_eq!(url, "az://data/raw");
    assert_eq!(
        keys.get("account").and_then(Value::as_str),
        Some("devstoreaccount1")
    );
    assert_eq!(keys.get("allow_http").and_then(Value::as_bool), Some(true));
}

#[test]
fn onelake_paths_follow_python_hygge() {
    let base = "account_url: https://onelake.dfs.fabric.microsoft.com\nfilesystem: ws\n";
    for (extra, expected) in [
        ("", "abfss://ws@onelake.dfs.fabric.microsoft.com/Files/e"),
        (
            "schema: sales\n",
            "abfss://ws@onelake.dfs.fabric.microsoft.com/Files/sales.schema/e",
        ),
        (
            "mirror_name: m\n",
            "abfss://ws@onelake.dfs.fabric.microsoft.com/Files/LandingZone/e",
        ),
        (
            "path: Tables/x/\n",
            "abfss://ws@onelake.dfs.fabric.microsoft.com/Tables/x",
        ),
    ] {
        let spec = store(&ONELAKE, &format!("{base}{extra}")).unwrap();
        assert!(
            spec.describe().contains(expected),
            "{extra}: {}",
            spec.describe()
        );
    }
}

#[test]
fn bad_keys_are_named() {
    let base = "account_url: https://acct.dfs.core.windows.net\nfilesystem: data\npath: raw/\n";
    let wrong = problem(&ADLS, &format!("{base}credential: password\n"));
    assert_eq!(wrong.key.as_deref(), Some("credential"));
    let half = problem(
        &ADLS,
        &format!("{base}credential: service_principal\nclient_id: c\n"),
    );
    assert!(half.message.contains("tenant_id"), "{half:?}");
    let missing = problem(
        &ADLS,
        "account_url: https://acct.dfs.core.windows.net\nfilesystem: d\n",
    );
    assert_eq!(missing.key.as_deref(), Some("path"));
    let option = problem(&ADLS, &format!("{base}options: {{retries: 3}}\n"));
    assert_eq!(option.key.as_deref(), Some("options.retries"));
    let url = problem(&ADLS, "account_url: not a url\nfilesystem: d\npath: x\n");
    assert_eq!(url.key.as_deref(), Some("account_url"));
}
