"""Drives Causeway's V2 management family with Huawei's official Python SDK
(`huaweicloudsdkapig`), configured with nothing but an endpoint, a project id
and an access key: a whole workflow, then bad input. Prints what it saw as
JSON for the Rust test to check (tests/management_v2.rs).

    python apig_sdk_workflow.py ENDPOINT PROJECT_ID INSTANCE_ID AK SK BACKEND FUNCTION_URN
"""

import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkapig.v2 import ApigClient
from huaweicloudsdkapig.v2.model import (
    ApiActionInfo, ApiAuthCreate, ApiCreate, ApiFuncCreate, ApiGroupCreate, ApiMockCreate, AppCreate,
    BackendApiCreate, BackendParamBase, CreateAnAppV2Request, CreateApiGroupV2Request, CreateApiV2Request,
    CreateAuthorizingAppsV2Request, CreateEnvironmentV2Request, CreateOrDeletePublishRecordForApiV2Request,
    DeleteApiV2Request, DeleteAppV2Request, DeleteApiGroupV2Request, EnvCreate, ListApiGroupsV2Request,
    ListApisV2Request, ListAppsV2Request, ListEnvironmentsV2Request, ListInstancesV2Request, ReqParamBase,
    ShowDetailsOfApiV2Request, ShowDetailsOfAppV2Request,
)

endpoint, project, instance, ak, sk, backend, function_urn = sys.argv[1:8]
RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
client = ApigClient.new_builder().with_credentials(BasicCredentials(ak, sk, project)).with_endpoints([endpoint]).build()
seen = {}


def refused(call):
    """The status and APIG code of a call the SDK raised ClientRequestException for."""
    try:
        call()
    except ClientRequestException as e:
        return {"status": e.status_code, "code": e.error_code, "msg": e.error_msg, "request_id": e.request_id}
    return {"status": "accepted"}


seen["instances"] = [i.id for i in client.list_instances_v2(ListInstancesV2Request()).instances]
group = client.create_api_group_v2(CreateApiGroupV2Request(instance_id=instance, body=ApiGroupCreate(name="sdk_group", remark="made by the SDK")))
seen["group"] = {"id": group.id, "name": group.name, "sl_domain": group.sl_domain}
env = client.create_environment_v2(CreateEnvironmentV2Request(instance_id=instance, body=EnvCreate(name="SDK_ENV", remark="staging")))
seen["env"] = env.name

common = dict(type=1, req_protocol="BOTH", req_method="GET", auth_type="APP", group_id=group.id)
http = ApiCreate(name="sdk_http", req_uri="/sdk/http", backend_type="HTTP", **common,
                 req_params=[ReqParamBase(name="q", type="STRING", location="QUERY", required=2)],
                 backend_params=[BackendParamBase(origin="REQUEST", name="X-Q", location="HEADER", value="q")],
                 backend_api=BackendApiCreate(url_domain=backend, req_protocol="HTTP", req_method="GET", req_uri="/seen", timeout=5000, retry_count="-1"))
mock = ApiCreate(name="sdk_mock", req_uri="/sdk/mock", backend_type="MOCK", **dict(common, auth_type="NONE"),
                 mock_info=ApiMockCreate(result_content='{"from":"mock"}'))
func = ApiCreate(name="sdk_function", req_uri="/sdk/function", backend_type="FUNCTION", **common,
                 func_info=ApiFuncCreate(function_urn=function_urn, invocation_type="sync", network_type="V2", timeout=5000))
apis = {}
for body in (http, mock, func):
    created = client.create_api_v2(CreateApiV2Request(instance_id=instance, body=body))
    apis[created.name] = created.id
    published = client.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance, body=ApiActionInfo(action="online", env_id=RELEASE, api_id=created.id, remark="by the SDK")))
    seen.setdefault("published", []).append({"api_id": published.api_id, "env_id": published.env_id, "publish_id": published.publish_id})
seen["apis"] = apis

app = client.create_an_app_v2(CreateAnAppV2Request(instance_id=instance, body=AppCreate(name="sdk_app", remark="caller")))
seen["app"] = {"id": app.id, "app_key": app.app_key, "app_secret": app.app_secret}
auths = client.create_authorizing_apps_v2(CreateAuthorizingAppsV2Request(
    instance_id=instance, body=ApiAuthCreate(env_id=RELEASE, app_ids=[app.id], api_ids=[apis["sdk_http"]])))
seen["auths"] = len(auths.auths or [])

seen["lists"] = {
    "groups": client.list_api_groups_v2(ListApiGroupsV2Request(instance_id=instance, name="sdk_group")).total,
    "apis": client.list_apis_v2(ListApisV2Request(instance_id=instance, group_id=group.id, offset=0, limit=2)).total,
    "apis_page": len(client.list_apis_v2(ListApisV2Request(instance_id=instance, group_id=group.id, offset=0, limit=2)).apis),
    "apps": client.list_apps_v2(ListAppsV2Request(instance_id=instance, name="sdk_app")).total,
    "envs": [e.name for e in client.list_environments_v2(ListEnvironmentsV2Request(instance_id=instance)).envs],
}
shown = client.show_details_of_api_v2(ShowDetailsOfApiV2Request(instance_id=instance, api_id=apis["sdk_http"]))
seen["shown_api"] = {"name": shown.name, "backend_type": shown.backend_type, "url_domain": shown.backend_api.url_domain, "retry_count": shown.backend_api.retry_count}
seen["shown_app"] = client.show_details_of_app_v2(ShowDetailsOfAppV2Request(instance_id=instance, app_id=app.id)).name

# Bad input and missing things: ClientRequestException with the APIG codes.
seen["bad_name"] = refused(lambda: client.create_api_group_v2(CreateApiGroupV2Request(instance_id=instance, body=ApiGroupCreate(name="x"))))
seen["missing_api"] = refused(lambda: client.show_details_of_api_v2(ShowDetailsOfApiV2Request(instance_id=instance, api_id="0" * 32)))
seen["published_api_delete"] = refused(lambda: client.delete_api_v2(DeleteApiV2Request(instance_id=instance, api_id=apis["sdk_http"])))
seen["group_with_apis"] = refused(lambda: client.delete_api_group_v2(DeleteApiGroupV2Request(instance_id=instance, group_id=group.id)))
seen["other_instance"] = refused(lambda: client.list_api_groups_v2(ListApiGroupsV2Request(instance_id="another-instance")))

# Offline and delete the HTTP API and the app; the MOCK API stays for the caller to see.
client.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
    instance_id=instance, body=ApiActionInfo(action="offline", env_id=RELEASE, api_id=apis["sdk_http"])))
client.delete_api_v2(DeleteApiV2Request(instance_id=instance, api_id=apis["sdk_http"]))
client.delete_app_v2(DeleteAppV2Request(instance_id=instance, app_id=app.id))
seen["after_delete"] = {
    "apis": client.list_apis_v2(ListApisV2Request(instance_id=instance, group_id=group.id)).total,
    "apps": client.list_apps_v2(ListAppsV2Request(instance_id=instance, name="sdk_app")).total,
}
print(json.dumps(seen))
