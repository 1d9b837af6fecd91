"""The Python stack the AWS tutorials use, for `make bench-perf` to compare
with: boto3 clients created at init, the secret read at init, one DynamoDB
call per invocation (the campaign config, as campaign-api's GET
/campaigns/{skillId}/config reads it). Run by awslambdaric:

    python -m awslambdaric handler.handler
"""

import json
import os

import boto3

SECRETS = boto3.client("secretsmanager")
DYNAMODB = boto3.client("dynamodb")
SECRET = json.loads(
    SECRETS.get_secret_value(SecretId=os.environ["CXONE_SECRET_ID"])["SecretString"]
)
TABLE = os.environ["STATE_TABLE"]


def handler(event, context):
    skill_id = event.get("pathParameters", {}).get("skillId", "1001")
    item = DYNAMODB.get_item(
        TableName=TABLE,
        Key={"pk": {"S": f"CAMPAIGN#{skill_id}"}, "sk": {"S": "CONFIG"}},
    ).get("Item")
    return {
        "statusCode": 200 if item else 404,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"skillId": int(skill_id), "found": item is not None,
                            "clientId": SECRET.get("clientId")}),
    }
