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
    ApiAclCreate, ApiVersion, BaseSignature, CancelingAuthorizationV2Request, ChangeApiVersionV2Request,
    CreateAclStrategyV2Request, CreateAppCodeAutoV2Request, CreateEnvironmentVariableV2Request,
    CreateRequestThrottlingPolicyV2Request, CreateSignatureKeyV2Request, EnvVariableBase, EnvVariableCreate,
    ListAclStrategiesV2Request, ListApiVersionsV2Request, ListAppCodesV2Request, ListAppsBindedToApiV2Request,
    ListApisUnbindedToAppV2Request, ListEnvironmentVariablesV2Request, ListRequestThrottlingPolicyV2Request,
    ListSignatureKeysV2Request, ShowDetailsOfEnvironmentVariableV2Request, ThrottleBaseInfo,
    UpdateEnvironmentVariableV2Request,
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

# Variables, AppCodes, versions, authorizations and policies.
var = client.create_environment_variable_v2(CreateEnvironmentVariableV2Request(instance_id=instance, body=EnvVariableCreate(
    group_id=group.id, env_id=RELEASE, variable_name="backend_host", variable_value="10.0.0.1")))
client.update_environment_variable_v2(UpdateEnvironmentVariableV2Request(instance_id=instance, env_variable_id=var.id, body=EnvVariableBase(variable_value="10.0.0.2")))
seen["variable"] = {
    "listed": client.list_environment_variables_v2(ListEnvironmentVariablesV2Request(instance_id=instance, group_id=group.id)).total,
    "value": client.show_details_of_environment_variable_v2(ShowDetailsOfEnvironmentVariableV2Request(instance_id=instance, env_variable_id=var.id)).variable_value,
}
code = client.create_app_code_auto_v2(CreateAppCodeAutoV2Request(instance_id=instance, app_id=app.id))
seen["app_codes"] = {"made": len(code.app_code or ""), "listed": client.list_app_codes_v2(ListAppCodesV2Request(instance_id=instance, app_id=app.id)).total}
first = client.list_api_versions_v2(ListApiVersionsV2Request(instance_id=instance, api_id=apis["sdk_mock"], env_id=RELEASE)).api_versions[0].version_id
client.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
    instance_id=instance, body=ApiActionInfo(action="online", env_id=RELEASE, api_id=apis["sdk_mock"], remark="second")))
versions = client.list_api_versions_v2(ListApiVersionsV2Request(instance_id=instance, api_id=apis["sdk_mock"], env_id=RELEASE, offset=0, limit=10))
switched = client.change_api_version_v2(ChangeApiVersionV2Request(instance_id=instance, api_id=apis["sdk_mock"], body=ApiVersion(version_id=first)))
seen["versions"] = {"total": versions.total, "switched_to_first": switched.version_id == first}
seen["bound_apps"] = client.list_apps_binded_to_api_v2(ListAppsBindedToApiV2Request(instance_id=instance, api_id=apis["sdk_http"])).total
unbound = client.list_apis_unbinded_to_app_v2(ListApisUnbindedToAppV2Request(instance_id=instance, app_id=app.id, env_id=RELEASE))
seen["unbound_apis"] = sorted(a.name for a in unbound.apis)
client.canceling_authorization_v2(CancelingAuthorizationV2Request(instance_id=instance, app_auth_id=auths.auths[0].id))
seen["bound_after_cancel"] = client.list_apps_binded_to_api_v2(ListAppsBindedToApiV2Request(instance_id=instance, api_id=apis["sdk_http"])).total
client.create_request_throttling_policy_v2(CreateRequestThrottlingPolicyV2Request(instance_id=instance, body=ThrottleBaseInfo(
    name="sdk_throttle", api_call_limits=100, time_interval=1, time_unit="SECOND", type=1)))
client.create_acl_strategy_v2(CreateAclStrategyV2Request(instance_id=instance, body=ApiAclCreate(acl_name="sdk_acl", acl_type="DENY", acl_value="10.0.0.0/8", entity_type="IP")))
client.create_signature_key_v2(CreateSignatureKeyV2Request(instance_id=instance, body=BaseSignature(name="sdk_sign", sign_type="hmac", sign_key="sdk_sign_key1", sign_secret="sdk_sign_secret1")))
seen["policies"] = {
    "throttles": client.list_request_throttling_policy_v2(ListRequestThrottlingPolicyV2Request(instance_id=instance, name="sdk_throttle")).total,
    "acls": client.list_acl_strategies_v2(ListAclStrategiesV2Request(instance_id=instance, name="sdk_acl")).total,
    "signs": client.list_signature_keys_v2(ListSignatureKeysV2Request(instance_id=instance, name="sdk_sign")).total,
}

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
