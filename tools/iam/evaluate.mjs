// Evaluates authorization requests against IAM policies with @cloud-copilot/iam-simulate.
// stdin: {"policies": {NAME: {"identity": POLICY, "boundary": POLICY?}}, "requests": [{"id", "policy", "action",
//         "resource", "account", "principal", "context", "resourcePolicy"?}]}
// stdout: [{"id", "result": "Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error", "ignored": [...], "error"?}]
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

async function evaluate(request) {
  const policies = input.policies[request.policy] ?? {}
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context ?? {}
    },
    identityPolicies: policies.identity ? [{ name: request.policy, policy: policies.identity }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    permissionBoundaryPolicies: policies.boundary ? [{ name: 'boundary', policy: policies.boundary }] : undefined,
    resourcePolicy: request.resourcePolicy
  }
  const outcome = await runSimulation(simulation, {})
  if (outcome.resultType === 'error' && outcome.errors.message === 'multiple.resource.types') {
    // iam-data's AWS Backup recovery point ARN (arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${Id})
    // matches every backup ARN, so a vault or plan ARN has two resource types; the same engine evaluates
    // it without that (input) validation. The ARN is still matched against each statement's Resource.
    if (!simulation.resourcePolicy) delete simulation.resourcePolicy
    if (!simulation.permissionBoundaryPolicies) delete simulation.permissionBoundaryPolicies
    return { id: request.id, result: runUnsafeSimulation(simulation, {}), ignored: [], unvalidated: true }
  }
  if (outcome.resultType === 'error') {
    return { id: request.id, result: 'Error', error: outcome.errors }
  }
  const ignored = outcome.resultType === 'single' ? (outcome.result.ignoredContextKeys ?? []) : []
  return { id: request.id, result: outcome.overallResult, ignored }
}

const results = []
for (const request of input.requests) results.push(await evaluate(request))
process.stdout.write(JSON.stringify(results))
