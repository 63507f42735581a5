"""Pages and parts of pages that more than one blueprint shows: a blueprint builds them
from here, never from another blueprint."""
