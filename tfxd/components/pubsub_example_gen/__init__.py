"""PubSubExampleGen: drain a Pub/Sub subscription into one span, each message exactly once."""
