"""Real servers the tests start on 127.0.0.1: S3 (moto), SQL, BigQuery, Pub/Sub, Kafka, KFP."""
