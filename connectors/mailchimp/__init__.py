"""The Mailchimp connector: audience members, consent, tags and engagement, both ways, in bulk."""
