//! Object-store URLs as users write them in a file home's or store's `path`.

use object_store::ObjectStoreScheme;
use object_store::path::Path;
use url::Url;

/// The clouds hygge reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// Amazon S3 and S3-compatible stores (MinIO, R2, moto).
    S3,
    /// Azure Blob Storage, ADLS Gen2 and Fabric OneLake.
    Azure,
    /// Google Cloud Storage.
    Gcs,
}

impl Cloud {
    /// The `type:` of its connections.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Azure => "azure",
            Cloud::Gcs => "gcs",
        }
    }

    /// What signs in when no connection is named.
    pub fn credential_chain(self) -> &'static str {
        match self {
            Cloud::S3 => "the AWS credential chain (AWS_* variables, profile, instance role)",
            Cloud::Azure => "the Azure credential chain (AZURE_* variables, managed identity)",
            Cloud::Gcs => "Google's application default credentials",
        }
    }

    /// The cloud a connection's `type:` names.
    pub fn from_type(name: &str) -> Option<Cloud> {
        match name {
            "s3" => Some(Cloud::S3),
            "azure" | "azure_blob" | "adls" | "onelake" => Some(Cloud::Azure),
            "gcs" => Some(Cloud::Gcs),
            _ => None,
        }
    }
}

/// A parsed object-store URL: `s3://bucket/raw/orders`,
/// `abfss://container@account.dfs.core.windows.net/raw`, `az://container/raw`,
/// `gs://bucket/raw`, or an `https://` URL of an Azure or S3 endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectUrl {
    /// Which cloud.
    pub cloud: Cloud,
    /// The URL, for the store's builder (bucket, container and account come from it).
    pub url: Url,
    /// The prefix inside the bucket or container.
    pub prefix: Path,
}

impl ObjectUrl {
    /// `Ok(None)` when `text` is not a URL (a local path).
    ///
    /// # Errors
    /// A URL that does not parse, or whose scheme is not an object store hygge knows; the
    /// message says which schemes are.
    pub fn parse(text: &str) -> Result<Option<ObjectUrl>, String> {
        let Some((scheme, _)) = text.split_once("://") else {
            return Ok(None);
        };
        let known = "use s3://bucket/path, abfss://container@account.dfs.core.windows.net/path, az://container/path or gs://bucket/path";
        if scheme == "file" {
            return Err(format!("`{text}`: write a local path without `file://`"));
        }
        let url = Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
        let (scheme, prefix) = ObjectStoreScheme::parse(&url)
            .map_err(|_| format!("`{text}` is not an object store URL: {known}"))?;
        let cloud = match scheme {
            ObjectStoreScheme::AmazonS3 => Cloud::S3,
            ObjectStoreScheme::MicrosoftAzure => Cloud::Azure,
            ObjectStoreScheme::GoogleCloudStorage => Cloud::Gcs,
            _ => return Err(format!("`{text}` is not an object store URL: {known}")),
        };
        if url.query().is_some() || !url.password().unwrap_or_default().is_empty() {
            return Err(format!(
                "`{}` carries credentials in the URL: put them in a connection",
                url.scheme()
            ));
        }
        Ok(Some(ObjectUrl { cloud, url, prefix }))
    }

    /// The URL as the user wrote it, for messages.
    pub fn place(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ObjectUrl {
        ObjectUrl::parse(text).unwrap().unwrap()
    }

    #[test]
    fn every_cloud_url_form_is_recognised_with_its_prefix() {
        for (text, cloud, prefix) in [
            ("s3://lake/raw/orders", Cloud::S3, "raw/orders"),
            ("s3a://lake/raw/", Cloud::S3, "raw"),
            ("s3://lake", Cloud::S3, ""),
            (
                "abfss://data@acct.dfs.core.windows.net/raw/orders",
                Cloud::Azure,
                "raw/orders",
            ),
            ("az://data/raw", Cloud::Azure, "raw"),
            (
                "https://acct.blob.core.windows.net/data/raw",
                Cloud::Azure,
                "raw",
            ),
            (
                "abfss://ws@onelake.dfs.fabric.microsoft.com/lh.Lakehouse/Files/orders",
                Cloud::Azure,
                "lh.Lakehouse/Files/orders",
            ),
            ("gs://bucket/raw/orders", Cloud::Gcs, "raw/orders"),
        ] {
            let url = parsed(text);
            assert_eq!((url.cloud, url.prefix.as_ref()), (cloud, prefix), "{text}");
        }
    }

    #[test]
    fn local_paths_are_not_urls_and_unknown_schemes_are_refused() {
        assert_eq!(ObjectUrl::parse("data/out/{entity}").unwrap(), None);
        assert_eq!(ObjectUrl::parse("/abs/path").unwrap(), None);
        let ftp = ObjectUrl::parse("ftp://host/x").unwrap_err();
        assert!(ftp.contains("s3://bucket/path"), "{ftp}");
        let file = ObjectUrl::parse("file:///tmp/x").unwrap_err();
        assert!(file.contains("local path"), "{file}");
        let secret =
            ObjectUrl::parse("https://acct.blob.core.windows.net/c/x?sig=abc").unwrap_err();
        assert!(
            secret.contains("connection") && !secret.contains("abc"),
            "{secret}"
        );
    }
}
