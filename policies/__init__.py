"""The GDPR policy engine: classification, propagation, anonymization and audits (issues 4-6)."""
