"""A small LRU of ranked answers for the index version in service.

It holds what a search computes from the question's words (the ranked page, snippets, total,
corrections, care advice), never a whole response: the echoed question, its timing and its
"did you mean" are made for each request from the request itself (search.py). Entries belong to
one index version; the first use of a newer version empties it, so a replaced version's passages
are not kept alive by old entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class ResultCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._version: str | None = None
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: str, key: Hashable) -> object | None:
        if self.size <= 0:
            return None
        with self._lock:
            if version != self._version:
                return None
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, version: str, key: Hashable, value: object) -> None:
        if self.size <= 0:
            return
        with self._lock:
            if self._version is None or version > self._version:  # names sort by build time
                self._version = version
                self._items.clear()
            elif version != self._version:  # a request still finishing on a replaced version
                return
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
