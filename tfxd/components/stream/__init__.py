"""What the streaming ExampleGens (Pub/Sub, Kafka) share: the message, the write-ahead journal,
payload decoding and the executor's exactly-once protocol. Each source adds only its own I/O."""
