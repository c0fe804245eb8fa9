"""Built-in campaign jobs: segments, the walk, crowdfunding, GDPR clean-up."""
