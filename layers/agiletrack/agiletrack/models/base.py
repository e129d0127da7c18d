"""The base of every pydantic model of the package.

``defer_build``: a model's validator and serializer are built the first time it is used, not when its module
is imported. A function imports many models it never uses on a given request (every provider's config and
records, the API's response shapes); building them all at import was the largest part of a cold start.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, RootModel


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


RootT = TypeVar("RootT")


class Root(RootModel[RootT], Generic[RootT]):
    """A ``RootModel`` built on first use. ``class X(RootModel[A | B])`` would build the parametrized
    ``RootModel[A | B]`` (and every model of the union) at import, whatever ``X`` says."""

    model_config = ConfigDict(defer_build=True)
