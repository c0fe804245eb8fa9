"""Donor segmentation: RFM scores, the standard fundraising segments, custom filters, pushes to targets."""
