//! How a connection authenticates: a SQL login, or an Entra ID (Azure AD) access token
//! obtained by one of several methods (see [`super::token`]).

use hygge_runtime::contract::ConfigProblem;
use serde::Deserialize;

/// The `auth:` names users write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethodName {
    /// SQL Server login: `user` + `password`.
    Sql,
    /// An Entra ID application: `tenant_id`, `client_id`, `client_secret`.
    ServicePrincipal,
    /// The Azure managed identity of the machine (optionally a user-assigned `client_id`).
    ManagedIdentity,
    /// The account logged in with `az login`.
    AzureCli,
    /// A token given directly in `access_token`.
    AccessToken,
    /// Service principal from the environment, then managed identity, then the Azure CLI.
    Default,
}

/// A resolved authentication method with its credentials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum AuthConfig {
    /// SQL Server login.
    Sql {
        /// Login name.
        user: String,
        /// Password.
        password: String,
    },
    /// Entra ID client credentials.
    ServicePrincipal {
        /// Tenant (directory) id.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// Client secret.
        client_secret: String,
    },
    /// Azure managed identity.
    ManagedIdentity {
        /// A user-assigned identity's client id; `None` for the system-assigned one.
        client_id: Option<String>,
    },
    /// `az account get-access-token`.
    AzureCli,
    /// A fixed token.
    AccessToken(String),
    /// The environment → managed identity → Azure CLI chain.
    Default,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        match self {
            AuthConfig::Sql { user, .. } => write!(f, "sql login {user}"),
            AuthConfig::ServicePrincipal { client_id, .. } => {
                write!(f, "service principal {client_id}")
            }
            AuthConfig::ManagedIdentity { client_id } => match client_id {
                Some(id) => write!(f, "managed identity {id}"),
                None => f.write_str("managed identity"),
            },
            AuthConfig::AzureCli => f.write_str("azure cli"),
            AuthConfig::AccessToken(_) => f.write_str("access token"),
            AuthConfig::Default => f.write_str("default azure credential chain"),
        }
    }
}

impl AuthConfig {
    /// Builds the method from the connection's keys, checking that exactly the keys it needs
    /// are present. Without `auth`, a `user` means `sql`; otherwise `default`.
    pub fn from_keys(
        method: Option<AuthMethodName>,
        user: Option<String>,
        password: Option<String>,
        tenant_id: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        access_token: Option<String>,
    ) -> Result<Self, ConfigProblem> {
        let method = method.unwrap_or(if user.is_some() {
            AuthMethodName::Sql
        } else {
            AuthMethodName::Default
        });
        let need = |value: Option<String>, key: &str, what: &str| {
            value.filter(|v| !v.is_empty()).ok_or_else(|| {
                ConfigProblem::key(key, format!("is required for auth: {what}"))
                    .hint(format!("set `{key}`, normally as ${{ENV_VAR}}"))
            })
        };
        let unused = |present: bool, key: &str, what: &str| {
            if present {
                Err(
                    ConfigProblem::key(key, format!("is not used by auth: {what}"))
                        .hint("remove it, or choose the auth method that uses it"),
                )
            } else {
                Ok(())
            }
        };
        let has_password = password.is_some();
        let auth = match method {
            AuthMethodName::Sql => {
                unused(client_secret.is_some(), "client_secret", "sql")?;
                unused(access_token.is_some(), "access_token", "sql")?;
                AuthConfig::Sql {
                    user: need(user, "user", "sql")?,
                    password: password.unwrap_or_default(),
                }
            }
            AuthMethodName::ServicePrincipal => {
                unused(user.is_some(), "user", "service_principal")?;
                AuthConfig::ServicePrincipal {
                    tenant_id: need(tenant_id, "tenant_id", "service_principal")?,
                    client_id: need(client_id, "client_id", "service_principal")?,
                    client_secret: need(client_secret, "client_secret", "service_principal")?,
                }
            }
            AuthMethodName::ManagedIdentity => {
                unused(user.is_some(), "user", "managed_identity")?;
                unused(client_secret.is_some(), "client_secret", "managed_identity")?;
                AuthConfig::ManagedIdentity { client_id }
            }
            AuthMethodName::AzureCli => {
                unused(user.is_some(), "user", "azure_cli")?;
                AuthConfig::AzureCli
            }
            AuthMethodName::AccessToken => {
                AuthConfig::AccessToken(need(access_token, "access_token", "access_token")?)
            }
            AuthMethodName::Default => {
                unused(user.is_some(), "user", "default")?;
                unused(has_password, "password", "default")?;
                AuthConfig::Default
            }
        };
        if !matches!(auth, AuthConfig::Sql { .. } | AuthConfig::Default) {
            unused(has_password, "password", "token methods")?;
        }
        Ok(auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(
        method: Option<AuthMethodName>,
        user: Option<&str>,
        secret: Option<&str>,
    ) -> Result<AuthConfig, ConfigProblem> {
        AuthConfig::from_keys(
            method,
            user.map(String::from),
            Some("pw".into()).filter(|_| user.is_some()),
            Some("t".into()).filter(|_| secret.is_some()),
            Some("c".into()).filter(|_| secret.is_some()),
            secret.map(String::from),
            None,
        )
    }

    #[test]
    fn a_user_means_sql_and_nothing_means_the_default_chain() {
        assert!(matches!(
            keys(None, Some("sa"), None).unwrap(),
            AuthConfig::Sql { .. }
        ));
        assert_eq!(keys(None, None, None).unwrap(), AuthConfig::Default);
    }

    #[test]
    fn missing_and_stray_keys_are_named() {
        let problem = keys(Some(AuthMethodName::ServicePrincipal), None, None).unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("tenant_id"));
        let problem = keys(Some(AuthMethodName::Sql), None, None).unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("user"));
        let problem = keys(Some(AuthMethodName::AzureCli), Some("sa"), None).unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("user"));
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let auth = keys(Some(AuthMethodName::ServicePrincipal), None, Some("s3cret")).unwrap();
        assert!(!format!("{auth:?}").contains("s3cret"));
    }
}
