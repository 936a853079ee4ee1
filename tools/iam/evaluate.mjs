// Evaluates authorization requests against IAM policies with @cloud-copilot/iam-simulate.
// stdin: {"policies": {NAME: {"identity": POLICY, "boundary": POLICY?}}, "requests": [{"id", "policy", "action",
//         "resource", "account", "principal", "context", "resourcePolicy"?, "trust"?}]}
// stdout: [{"id", "result": "Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error", "ignored": [...], "error"?}]
import { createValidatedPolicy, validateResourcePolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

function simulationOf(request) {
  const policies = input.policies[request.policy] ?? {}
  return {
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
}

// The unchecked entry point loads the resource policy without a name, which its resource-policy analysis
// needs; a policy validated by iam-policy (the engine's own parser) carries one, and its syntax errors.
function unchecked(simulation, validate) {
  if (!simulation.permissionBoundaryPolicies) delete simulation.permissionBoundaryPolicies
  if (!simulation.resourcePolicy) {
    delete simulation.resourcePolicy
    return { result: runUnsafeSimulation(simulation, {}) }
  }
  const policy = createValidatedPolicy(simulation.resourcePolicy, validate, { name: 'resource' })
  if (policy.errors.length) return { result: 'Error', error: policy.errors }
  return { result: runUnsafeSimulation({ ...simulation, resourcePolicy: policy }, {}) }
}

async function evaluate(request) {
  const simulation = simulationOf(request)
  const outcome = await runSimulation(simulation, {})
  const ignored = outcome.resultType === 'single' ? (outcome.result.ignoredContextKeys ?? []) : []
  if (request.trust) {
    // A role's trust policy, assumed with a web identity token. iam-data lists the GitHub claims AWS
    // documents for sts:AssumeRoleWithWebIdentity (repository, ref, environment...) but not the standard
    // OIDC ones, token.actions.githubusercontent.com:sub and :aud, so the checked run above drops them
    // from the context (reported as ignored) and no subject could ever match. The unchecked run evaluates
    // the context as given, with the same engine; the caller checks that only those keys were dropped.
    return { id: request.id, ignored, ...unchecked(simulation, validateTrustPolicy) }
  }
  if (outcome.resultType === 'error' && outcome.errors.message === 'multiple.resource.types') {
    // iam-data's AWS Backup recovery point ARN (arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${Id})
    // matches every backup ARN, so a vault or plan ARN has two resource types; the same engine evaluates
    // it without that (input) validation. The ARN is still matched against each statement's Resource.
    return { id: request.id, ignored: [], unvalidated: true, ...unchecked(simulation, validateResourcePolicy) }
  }
  if (outcome.resultType === 'error') {
    return { id: request.id, result: 'Error', error: outcome.errors }
  }
  return { id: request.id, result: outcome.overallResult, ignored }
}

const results = []
for (const request of input.requests) results.push(await evaluate(request))
process.stdout.write(JSON.stringify(results))
