/**
 * Cognito user pool sign-up and sign-in through the Cognito Identity Provider JSON API
 * (no SDK): POST to `config.cognitoEndpoint` with `X-Amz-Target:
 * AWSCognitoIdentityProviderService.<Action>`. On AWS the endpoint is
 * https://cognito-idp.<region>.amazonaws.com/; locally a path on the local gateway.
 *
 *   const cognito = createCognito(config);
 *   await cognito.signUp(email, password);          // a code is emailed
 *   await cognito.confirmSignUp(email, code);
 *   const tokens = await cognito.signIn(email, password);  // { idToken, accessToken, refreshToken, expiresAt }
 */

export class CognitoError extends Error {
  constructor(type, message) {
    super(readable(type, message));
    this.name = "CognitoError";
    this.type = type;
  }
}

const MESSAGES = {
  UsernameExistsException: "An account with this email already exists. Sign in instead.",
  NotAuthorizedException: "Incorrect email or password.",
  UserNotFoundException: "Incorrect email or password.",
  UserNotConfirmedException: "This account is not confirmed yet. Enter the code we emailed you.",
  CodeMismatchException: "That code is not right. Check the email and try again.",
  ExpiredCodeException: "That code has expired. Sign up again to get a new one.",
  InvalidPasswordException:
    "The password is too weak: use at least 8 characters with upper and lower case letters, a number and a symbol.",
  TooManyRequestsException: "Too many attempts. Please wait a moment and try again.",
  LimitExceededException: "Too many attempts. Please wait a moment and try again.",
};

function readable(type, message) {
  if (type === "InvalidParameterException" && message) return message;
  return MESSAGES[type] || message || "Sign-in failed. Please try again.";
}

export function createCognito({ cognitoEndpoint, region, userPoolClientId }) {
  const endpoint = cognitoEndpoint || `https://cognito-idp.${region}.amazonaws.com/`;

  async function call(action, payload) {
    let response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
        },
        body: JSON.stringify(payload),
      });
    } catch {
      throw new CognitoError("NetworkError", "The sign-in service could not be reached.");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const type = String(data.__type || data.code || "").split("#").pop();
      throw new CognitoError(type, data.message || data.Message);
    }
    return data;
  }

  const tokens = (result) => ({
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken || null,
    expiresAt: Date.now() + (result.ExpiresIn || 3600) * 1000,
  });

  return {
    signUp: (email, password) =>
      call("SignUp", {
        ClientId: userPoolClientId,
        Username: email,
        Password: password,
        UserAttributes: [{ Name: "email", Value: email }],
      }),
    confirmSignUp: (email, code) =>
      call("ConfirmSignUp", { ClientId: userPoolClientId, Username: email, ConfirmationCode: code }),
    async signIn(email, password) {
      const data = await call("InitiateAuth", {
        ClientId: userPoolClientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: email, PASSWORD: password },
      });
      if (!data.AuthenticationResult) throw new CognitoError(data.ChallengeName, `Sign-in needs ${data.ChallengeName}.`);
      return tokens(data.AuthenticationResult);
    },
    async refresh(refreshToken) {
      const data = await call("InitiateAuth", {
        ClientId: userPoolClientId,
        AuthFlow: "REFRESH_TOKEN_AUTH",
        AuthParameters: { REFRESH_TOKEN: refreshToken },
      });
      return { ...tokens(data.AuthenticationResult), refreshToken };
    },
  };
}
