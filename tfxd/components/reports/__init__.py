"""StatisticsGen, ExampleValidator and Evaluator with a report the KFP UI renders."""
