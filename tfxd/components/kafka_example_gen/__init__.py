"""KafkaExampleGen: a Kafka topic drained into one span per run, each record exactly once."""
