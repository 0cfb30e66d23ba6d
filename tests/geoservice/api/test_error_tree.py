"""The exception trees say what each error is about, and each maps to its HTTP status."""

from __future__ import annotations

import inspect

import pytest

from geoservice.api.errors import status_for
from geoservice.base import errors as service_errors
from geoservice.base.errors import (
    AuthenticationError,
    GeoserviceError,
    PermissionDeniedError,
    WorkspaceError,
)
from layers.errors import CRSError, LayersError, MessageError, SchemaError
from layers.messages import Message
from maps.assets import AssetsMissingError
from maps.basemaps import BasemapError
from maps.render import MapInputError

MSG = Message("test.error", "测试错误", "test error")


def _service_classes() -> list[type[GeoserviceError]]:
    return [
        cls
        for _, cls in inspect.getmembers(service_errors, inspect.isclass)
        if issubclass(cls, GeoserviceError)
    ]


def test_no_service_error_is_a_survey_file_error() -> None:
    classes = _service_classes()
    assert AuthenticationError in classes
    assert [c.__name__ for c in classes if issubclass(c, LayersError)] == []


@pytest.mark.parametrize("cls", [MapInputError, AssetsMissingError, BasemapError])
def test_map_errors_are_not_survey_file_errors(cls: type[MessageError]) -> None:
    assert issubclass(cls, MessageError)
    assert not issubclass(cls, LayersError)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AuthenticationError(MSG), 401),
        (PermissionDeniedError(MSG), 403),
        (WorkspaceError(MSG), 503),
        (SchemaError(MSG), 422),
        (CRSError(MSG), 422),
        (MapInputError(MSG), 422),
    ],
)
def test_status_for_each_branch_of_the_tree(error: MessageError, status: int) -> None:
    assert status_for(error) == status


def test_every_error_keeps_its_bilingual_message() -> None:
    error = AuthenticationError(MSG)
    assert (str(error), error.text("zh"), error.code) == ("test error", "测试错误", "test.error")
