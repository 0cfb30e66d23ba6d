"""Risk of serious damage and joint-enforcement targets (DESIGN §5-§6, Art. 8 and 10)."""
