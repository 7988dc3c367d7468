"""BigQueryExampleGen: a query or a table, read through the BigQuery client and Storage Read API."""
