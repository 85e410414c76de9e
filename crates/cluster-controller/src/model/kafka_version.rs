//! The Kafka version a broker runs, read from its image reference (or an annotation for images
//! whose tag does not carry it). The version decides what the broker may be configured with
//! (ZooKeeper mode ends with Kafka 4).

use super::KafkaVersion;

/// Annotation on the KafkaCluster naming the Kafka version of custom images (`3.9.1`); it wins
/// over whatever the image tags say.
pub const KAFKA_VERSION_ANNOTATION: &str = "koperator-rs.io/kafka-version";

/// The Kafka version in an image reference's tag, if it has one.
///
/// Understands Koperator's `<repo>:2.13-3.9.1` (Scala version first), Apache's `apache/kafka:4.1.0`,
/// suffixes (`3.9.1-rc1`, `3.9.1-debian`), a `v` prefix and digests (`...:3.9.1@sha256:...`).
/// A digest-only reference or a tag like `latest` has no version.
pub fn parse_image_version(image: &str) -> Option<KafkaVersion> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last_segment.split_once(':')?;
    // Koperator images put the Scala version first: `2.12-3.5.0`, `2.13.14-3.9.1`.
    let tag = match tag.split_once('-') {
        Some((scala, rest)) if parse_version(scala).is_some_and(|v| v.major == 2 && (10..=13).contains(&v.minor)) => {
            rest
        }
        _ => tag,
    };
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let end = tag.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tag.len());
    let version = parse_version(&tag[..end])?;
    // Kafka has no major version 0 images and Scala-only tags would read as 2.x.
    (version.major >= 1 && tag[..end].split('.').count() == 3).then_some(version)
}

/// `major.minor.patch` or `major.minor` (patch 0).
pub fn parse_version(text: &str) -> Option<KafkaVersion> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(patch) => patch.parse().ok()?,
        None => 0,
    };
    parts.next().is_none().then_some(KafkaVersion { major, minor, patch })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(major: u32, minor: u32, patch: u32) -> Option<KafkaVersion> {
        Some(KafkaVersion { major, minor, patch })
    }

    #[test]
    fn reads_koperator_and_apache_tags() {
        assert_eq!(parse_image_version("ghcr.io/adobe/koperator/kafka:2.13-3.9.1"), version(3, 9, 1));
        assert_eq!(parse_image_version("ghcr.io/banzaicloud/kafka:2.13-3.9.0"), version(3, 9, 0));
        assert_eq!(parse_image_version("banzaicloud/kafka:2.12-2.8.1"), version(2, 8, 1));
        assert_eq!(parse_image_version("apache/kafka:4.1.0"), version(4, 1, 0));
        assert_eq!(parse_image_version("docker.io/apache/kafka:3.9.1"), version(3, 9, 1));
    }

    #[test]
    fn tolerates_suffixes_prefixes_ports_and_digests() {
        assert_eq!(parse_image_version("apache/kafka:4.1.0-rc1"), version(4, 1, 0));
        assert_eq!(parse_image_version("registry:5000/kafka:v3.8.0"), version(3, 8, 0));
        assert_eq!(parse_image_version("registry:5000/kafka:3.7.1-debian@sha256:abcd"), version(3, 7, 1));
        assert_eq!(parse_image_version("ghcr.io/adobe/koperator/kafka:2.13.14-3.9.1"), version(3, 9, 1));
    }

    #[test]
    fn no_version_without_a_versioned_tag() {
        assert_eq!(parse_image_version("apache/kafka"), None);
        assert_eq!(parse_image_version("apache/kafka:latest"), None);
        assert_eq!(parse_image_version("registry:5000/kafka"), None);
        assert_eq!(parse_image_version("apache/kafka@sha256:0123456789abcdef"), None);
        assert_eq!(parse_image_version("my/kafka:2.13"), None);
        assert_eq!(parse_image_version("my/kafka:3.9"), None);
        assert_eq!(parse_image_version("my/kafka:2.1.0-rc1"), version(2, 1, 0));
    }

    #[test]
    fn annotation_versions() {
        assert_eq!(parse_version("3.9.1"), version(3, 9, 1));
        assert_eq!(parse_version(" 4.0 "), version(4, 0, 0));
        assert_eq!(parse_version("4"), None);
        assert_eq!(parse_version("4.0.0.1"), None);
        assert_eq!(parse_version("four"), None);
    }
}
