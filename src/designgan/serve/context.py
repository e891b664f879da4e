"""The state shared by the routes of one app: the model, the settings and the inference queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..pipeline import DesignModel, KeywordError
from .config import ServeConfig
from .limits import InferenceQueue

T = TypeVar("T")


class RequestValueError(Exception):
    """A value that passed the schema but that the library rejected; the response is 422."""

    def __init__(self, field: str, message: str, error_type: str = "value_error"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.error_type = error_type


@dataclass
class ServeContext:
    model: DesignModel
    config: ServeConfig
    queue: InferenceQueue
    model_name: str  # "builtin" or the model folder's name, used in place of paths in responses
    ready: bool = False  # set once the warm-up image is drawn

    async def infer(self, job: Callable[[], T], field: str = "body", keyword_field: str = "keywords") -> T:
        """Run a generation job on the inference queue.

        The library raises KeywordError and ValueError for inputs it cannot draw, such
        as a request with no known keyword or two identical ideas to morph. They become
        422 errors on `keyword_field` and `field`. QueueFullError propagates and becomes 503.
        """
        try:
            return await self.queue.run(job)
        except KeywordError as error:
            raise RequestValueError(keyword_field, str(error), "keyword_error") from error
        except ValueError as error:
            raise RequestValueError(field, str(error)) from error
