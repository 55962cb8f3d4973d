"""kafka-python (Debian's python3-kafka 2.0.2) against a Flotilla cluster with --authorizer:
create_acls, describe_acls, delete_acls (its CreateAcls/DescribeAcls/DeleteAcls). Prints one JSON
object; spec/e2e/acls.spec.ts checks it."""
import json
import sys

from kafka import KafkaAdminClient
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern,
                         ResourcePatternFilter, ResourceType)

admin = KafkaAdminClient(bootstrap_servers=sys.argv[1].split(','), request_timeout_ms=20000)
pattern = ResourcePattern(ResourceType.TOPIC, 'py-acl', ACLResourcePatternType.PREFIXED)
acl = ACL(principal='User:py', host='*', operation=ACLOperation.WRITE, permission_type=ACLPermissionType.ALLOW, resource_pattern=pattern)
created = admin.create_acls([acl])
flt = ACLFilter(principal='User:py', host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, None, ACLResourcePatternType.ANY))
described, error = admin.describe_acls(flt)
deleted = admin.delete_acls([flt])
after, _ = admin.describe_acls(flt)
admin.close()
print(json.dumps({
    'created': len(created['succeeded']), 'failed': [str(f[1]) for f in created['failed']],
    'described': [[a.principal, a.operation.name, a.resource_pattern.pattern_type.name, a.resource_pattern.resource_name] for a in described],
    'describeError': error.__name__ if isinstance(error, type) else str(error),
    'deleted': sum(len(r[1]) for r in deleted), 'after': len(after),
}))
