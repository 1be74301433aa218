"""coldvault: move EC2 recovery points from AWS Backup into S3 Glacier classes, verified, and back."""

__version__ = "0.1.0"
