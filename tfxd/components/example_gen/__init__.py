"""What the ExampleGens share: file patterns with spans, queries with day spans, output splits."""
