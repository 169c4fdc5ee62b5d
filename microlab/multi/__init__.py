"""Several objects per clip: MOT-layout clips, identity-aware accounting, per-track baselines.

The definitions (README, "Several objects per clip"): one global one-to-one mapping between
predicted tracks and true identities that maximises matched boxes (IDF1's); a box is correct
when its track is mapped to the box's identity and IoU >= 0.5; "% correct" is
IDTP / (IDTP + IDFN + IDFP).
"""

from microlab.multi.association import AssociationSettings, link_tracks
from microlab.multi.clip import MultiClip, load_multi_clip
from microlab.multi.identity import IdentityScores, identity_scores

__all__ = ["AssociationSettings", "IdentityScores", "MultiClip", "identity_scores", "link_tracks",
           "load_multi_clip"]
