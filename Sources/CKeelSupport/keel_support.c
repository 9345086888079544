// Header-only module; see include/keel_support.h.
