"""S3ExampleGen: examples from CSV, TFRecord, Parquet or JSON-lines objects under s3:// prefixes."""
