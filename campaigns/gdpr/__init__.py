"""The GDPR clean-up job: plan, review, re-permission, apply and prove; erasure and access requests."""
